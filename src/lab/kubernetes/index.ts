// The Kubernetes part of the rehearsal lab.
export { startKubernetesLab } from './server.js';
export type { KubernetesLab, LabAuditRecord, LabExecRecord, StartKubernetesLabOptions } from './server.js';
export { k8sDemoScenario, collectorSubject, COLLECTOR_RULES, CONTAINMENT_RULES, NODE_CHECKPOINT_RULES, NODE_CORDON_RULES, NODE_READER_RULES, RETRIEVER_RULES, FORENSICS_NAMESPACE } from './scenario.js';
export type { DemoNodeInstance, K8sDemoScenario } from './scenario.js';
export type * from './objects.js';
export type { LabPolicyRule, LabSubject } from './rbac.js';
export { generateArchiveChunks, generateLogChunks, generatedLogLine } from './logs.js';
export { decodeEksToken, verifyEksSignature, EKS_TOKEN_PREFIX } from './eks-token.js';
export { startGkeDemoLab, startKubernetesDemoLab } from './demo.js';
export type { GkeDemoLab, GkeDemoLabInput, KubernetesDemoLab, KubernetesDemoLabInput } from './demo.js';
