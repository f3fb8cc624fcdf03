/**
 * The clouds `custody demo` runs one case across. Adding a cloud to the demo = one part file
 * beside aws.ts and one line here.
 */
import type { DemoPartStarter } from './part.js';
import { startAwsDemoPart } from './aws.js';
import { startAzureDemoPart } from './azure.js';
import { startGcpDemoPart } from './gcp.js';

export const DEMO_PARTS: readonly DemoPartStarter[] = [startAwsDemoPart, startAzureDemoPart, startGcpDemoPart];
