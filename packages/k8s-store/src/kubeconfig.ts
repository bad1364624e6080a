/**
 * `@certloop/k8s-store` loadKubeConfig: the client-node `KubeConfig` a user expects, by client-go's default loading
 * rules: an explicit file, else `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account; then
 * the named context, if any.
 */
import { CertloopError } from '@certloop/core';
import { KubeConfig } from '@kubernetes/client-node';

export interface LoadKubeConfigOptions {
  /** A kubeconfig file (`--kubeconfig`); default the loading rules. */
  readonly kubeconfig?: string;
  /** A context name (`--context`); default the file's current context. */
  readonly context?: string;
}

/** Throws `CERTLOOP_INVALID_CONFIG` when the file cannot be read, the context does not exist or no cluster results. */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', `cannot load the kubeconfig: ${(err as Error).message}`, {
      cause: err,
      details: { kubeconfig: options.kubeconfig },
    });
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      throw new CertloopError('CERTLOOP_INVALID_CONFIG', `the kubeconfig has no context "${options.context}"`, {
        details: { context: options.context, contexts: kc.getContexts().map((c) => c.name) },
      });
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the kubeconfig has no cluster for its current context', {
      details: { context: kc.getCurrentContext() },
    });
  }
  return kc;
}

/** The namespace of the current context, if it names one. */
export function contextNamespace(kc: KubeConfig): string | undefined {
  return kc.getContextObject(kc.getCurrentContext())?.namespace;
}
