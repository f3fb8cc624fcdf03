/**
 * The SDK clients' clock-skew retries under the collector's rule (aws-clock.ts `correctsSkew`).
 *
 * The SDK's signer marks an error answer `clockSkewCorrected` (which its retry classifier
 * retries) whenever the machine's clock is over 4 minutes off and the answer's `Date` moved the
 * offset at all. A `Date` has whole seconds, so on such a machine every error answer moves it by
 * a fraction of a second: an expected DryRunOperation, a denial or a not-found was retried until
 * the attempts ran out (8, with back-off: seconds per call; preflight took ~20 s on a skewed
 * clock). This middleware sits between the retry and the signing middleware and keeps the mark
 * only when the request was signed at least the threshold off the offset the answer set — a real
 * correction, retried once.
 */
import type { FinalizeHandler, FinalizeHandlerArguments, FinalizeHandlerOutput, MiddlewareStack } from '@aws-sdk/types';
import { correctsSkew } from './aws-clock.js';

interface SkewMarked {
  $metadata?: { clockSkewCorrected?: boolean };
}

/** What is read from an SDK client: its resolved clock offset and its middleware stack. */
interface SdkClientWithClock {
  config: { systemClockOffset?: number };
  // The stack's own input/output types differ per client; the middleware passes them through.
  middlewareStack: MiddlewareStack<any, any>;
}

/** Adds the middleware to `client` and returns it. */
export function retryOnlyRealSkewCorrections<C extends SdkClientWithClock>(client: C): C {
  const config = client.config;
  client.middlewareStack.addRelativeTo(
    <Output extends object>(next: FinalizeHandler<object, Output>) =>
      async (args: FinalizeHandlerArguments<object>): Promise<FinalizeHandlerOutput<Output>> => {
        // The offset the signer (the next middleware) signs with.
        const signedWith = config.systemClockOffset ?? 0;
        try {
          return await next(args);
        } catch (error) {
          const marked = error as SkewMarked | undefined;
          if (marked?.$metadata?.clockSkewCorrected && !correctsSkew(config.systemClockOffset ?? 0, signedWith)) {
            delete marked.$metadata.clockSkewCorrected;
          }
          throw error;
        }
      },
    { name: 'custodySkewCorrections', relation: 'before', toMiddleware: 'httpSigningMiddleware', override: true },
  );
  return client;
}
