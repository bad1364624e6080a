/**
 * examples/k8s-controller options: `--kubeconfig FILE`, `--context NAME` (a real cluster; without either the
 * embedded emulator runs), `--namespace NS` (default gloo-mesh), `--duration SECONDS` (default: until Ctrl-C; under
 * `CI=true`, until two rotations were served, at most 45 s).
 */
export interface ControllerOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace: string;
  readonly durationMs: number | undefined;
  readonly ci: boolean;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ControllerOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const ci = env.CI === 'true' || env.CI === '1';
  const duration = value('--duration');
  return {
    kubeconfig: value('--kubeconfig'),
    context: value('--context'),
    namespace: value('--namespace') ?? 'gloo-mesh',
    durationMs: duration !== undefined ? Number(duration) * 1000 : ci ? 45_000 : undefined,
    ci,
  };
}
