/**
 * The `kubernetes` section of the config file (zod): named clusters, each reached through a
 * kubeconfig or as an EKS cluster.
 */
import { z } from 'zod';
import { credentialFreeUrl } from '../../core/config.js';
import { awsAccountId as accountId, awsRegion as region } from '../shared/aws-names.js';

const clusterSchema = z
  .object({
    /** A kubeconfig file and context (defaults: $KUBECONFIG / ~/.kube/config, current context). */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    /** An EKS cluster reached with a token minted from the collector role in `account`. */
    eks: z.object({ name: z.string().min(1), account: accountId, region }).strict().optional(),
    /** API server URL (required with `eks`). */
    server: z.url().superRefine(credentialFreeUrl).optional(),
    caFile: z.string().optional(),
    skipTLSVerify: z.boolean().optional(),
    /** Where the nodes run, to snapshot them: the AWS account and region of the node instances. */
    nodeAccount: accountId.optional(),
    nodeRegion: region.optional(),
    /**
     * `--retrieve-checkpoint`: the namespace the helper pod that copies a checkpoint archive off
     * the node runs in (it mounts the node's checkpoint folder read-only, so the namespace must
     * admit hostPath volumes), and the image it runs (pin it by digest).
     */
    forensicsNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name').optional(),
    /**
     * The namespaces the collector's RoleBindings are applied in: what `preflight` checks when no
     * --namespace is given (default: `default`). Collection itself goes wherever a target is.
     */
    namespaces: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name')).min(1).optional(),
    helperImage: z.string().min(1).optional(),
  })
  .strict();

export const kubernetesConfigSection = z.object({ clusters: z.record(z.string(), clusterSchema) }).strict();

export type ClusterConfig = z.infer<typeof clusterSchema>;
export type KubernetesConfig = z.infer<typeof kubernetesConfigSection>;
