// The Kubernetes provider's public surface.
export { createKubernetesProvider, planPod } from './provider.js';
export type { KubernetesDeps, ClusterAccess } from './cluster-access.js';
export { connectCluster } from './cluster-access.js';
export { K8S_OPERATIONS, describeOperation } from './operations.js';
export type { KubernetesOperation, KubernetesOperationName, KubernetesRoleName } from './operations.js';
export { mintEksToken, EksAuthenticator, EKS_TOKEN_PREFIX } from './eks-token.js';
export { parseProviderId, regionOfZone } from '../shared/provider-id.js';
export type { ParsedProviderId } from '../shared/provider-id.js';
export { VOLATILE_COMMANDS, ENVIRONMENT_COMMAND } from './commands.js';
export { runKubernetesPreflight } from './preflight.js';
export type { KubernetesPreflightOptions, KubernetesPreflightRow } from './preflight.js';
