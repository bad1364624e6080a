/**
 * `@certloop/k8s-store/testing` discovery: `/version`, `/api`, `/apis`, `/api/v1` and
 * `/apis/coordination.k8s.io[/v1]`, the legacy JSON forms kubectl and client-node accept.
 */
import { LEASES, type ResourceKind, SECRETS } from './resources.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resourceEntry(r: ResourceKind, shortNames?: string[]) {
  return {
    name: r.plural,
    singularName: r.kind.toLowerCase(),
    namespaced: true,
    kind: r.kind,
    verbs: VERBS,
    ...(shortNames && { shortNames }),
    storageVersionHash: '',
  };
}

const COORDINATION_VERSION = { groupVersion: 'coordination.k8s.io/v1', version: 'v1' };

/** The discovery document for `path`, or undefined when `path` is not a discovery path. */
export function discovery(path: string, serverAddress: string): unknown {
  switch (path) {
    case '/version':
      return {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0',
        gitCommit: 'certloop-emulator',
        gitTreeState: 'clean',
        buildDate: '2024-12-11T00:00:00Z',
        goVersion: 'go1.23.3',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      };
    case '/apis':
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [
          { name: 'coordination.k8s.io', versions: [COORDINATION_VERSION], preferredVersion: COORDINATION_VERSION },
        ],
      };
    case '/apis/coordination.k8s.io':
      return {
        kind: 'APIGroup',
        apiVersion: 'v1',
        name: 'coordination.k8s.io',
        versions: [COORDINATION_VERSION],
        preferredVersion: COORDINATION_VERSION,
      };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          // read-only here (namespaces.ts): the emulator lists only the verbs it serves
          {
            name: 'namespaces',
            singularName: 'namespace',
            namespaced: false,
            kind: 'Namespace',
            verbs: ['get', 'list'],
            shortNames: ['ns'],
            storageVersionHash: '',
          },
          resourceEntry(SECRETS),
        ],
      };
    case '/apis/coordination.k8s.io/v1':
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'coordination.k8s.io/v1',
        resources: [resourceEntry(LEASES)],
      };
    default:
      return undefined;
  }
}
