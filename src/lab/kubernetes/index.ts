// The Kubernetes part of the rehearsal lab.
export { mergePatch, startKubernetesLab } from './server.js';
export type { KubernetesLab, LabAuditRecord, LabExecRecord, StartKubernetesLabOptions } from './server.js';
export { k8sDemoScenario, collectorSubject, FORENSICS_NAMESPACE } from './scenario.js';
export type { CollectorBinding, DemoNodeInstance, K8sDemoScenario } from './scenario.js';
export { admit, boundAdmissionPolicies, reviewAdmission } from './admission.js';
export type { AdmissionDecision, AdmissionDenial, AdmissionPolicy, AdmissionPolicyBinding, AdmissionRequest, AdmissionVerdict, BoundAdmissionPolicy } from './admission.js';
export { COLLECTORS_GROUP, JUST_IN_TIME_ROLES, loadRbacManifests, roleRules, SHIPPED_RBAC_DIR, subjectFromManifests } from './rbac.js';
export type * from './objects.js';
export type { LabPolicyRule, LabSubject, RbacDeployment } from './rbac.js';
export { generateArchiveChunks, generateLogChunks, generatedLogLine } from './logs.js';
export { decodeEksToken, verifyEksSignature, EKS_TOKEN_PREFIX } from './eks-token.js';
export { startGkeDemoLab, startKubernetesDemoLab } from './demo.js';
export type { GkeDemoLab, GkeDemoLabInput, KubernetesDemoLab, KubernetesDemoLabInput } from './demo.js';
