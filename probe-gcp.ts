import { startGcpLab, gcpDemoScenario } from './src/lab/gcp/index.js';
import { OAuth2Client } from 'google-auth-library';
import { createComputeClients } from './src/providers/gcp/clients.js';
import { parseGcpConfig } from './src/providers/gcp/config.js';
const lab = await startGcpLab(gcpDemoScenario());
const token = 'ya29.x';
lab.state.tokens.set(token, { principal: 'cloud-custody-collector@web-prod.iam.gserviceaccount.com', expiresAt: Date.now()+1e6, scopes: [], delegationChain: ['o@x'] });
const auth = new OAuth2Client(); auth.setCredentials({ access_token: token, expiry_date: Date.now()+1e6 });
const config = parseGcpConfig({ forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'], endpoints: { compute: lab.endpoints.compute } });
const c = createComputeClients(config, auth);
const [inst] = await c.instances.get({ project: 'web-prod', zone: 'us-central1-a', instance: 'web-1' }, { otherArgs: { headers: { 'User-Agent': 'cloud-custody/0.1 case/X', 'x-goog-request-reason': 'r' } } });
console.log(typeof inst.id, inst.id, inst.status, inst.disks?.[0]?.source, inst.displayDevice);
try { await c.instances.get({ project: 'web-prod', zone: 'us-central1-a', instance: 'legacy-1' }); } catch (e: any) { console.log('DENY', e.code, e.httpStatusCode, e.reason, e.message, '| cause:', e.cause?.message?.slice(0,200), Object.keys(e)); }
lab.server.faults.push({ api: 'compute.instances.get', kind: 'rate-limit', times: 1 });
try { await c.instances.get({ project: 'web-prod', zone: 'us-central1-a', instance: 'web-1' }); } catch (e: any) { console.log('RATE', e.code, e.httpStatusCode, e.reason, e.message?.slice(0,100), '| cause:', e.cause?.message?.slice(0,300)); }
const [sp] = await c.instances.getSerialPortOutput({ project: 'web-prod', zone: 'us-central1-a', instance: 'web-1', port: 1, start: 0 });
console.log(sp.start, typeof sp.next, sp.next, JSON.stringify(sp.contents).slice(0, 50));
const [op] = await c.snapshots.insert({ project: 'custody-forensics', requestId: '2d1f8a51-1111-5111-8111-111111111111', snapshotResource: { name: 'custody-ev-1', sourceDisk: 'projects/web-prod/zones/us-central1-a/disks/web-1', labels: { a: 'b' } } });
console.log('op', Object.keys(op), op.name, (op as any).latestResponse?.name, (op as any).latestResponse?.status);
const [w] = await c.globalOperations.wait({ project: 'custody-forensics', operation: (op as any).latestResponse.name });
console.log('wait', w.status, typeof w.status); const [w2] = await c.globalOperations.wait({ project: 'custody-forensics', operation: (op as any).latestResponse.name }); console.log(w2.status, w2.targetId);
const [s] = await c.snapshots.get({ project: 'custody-forensics', snapshot: 'custody-ev-1' });
console.log(s.status, s.storageBytes, typeof s.storageBytes, s.sourceDiskId);
console.log(lab.server.requests.slice(0,1), lab.state.audit.slice(0,1));
await c.close(); await lab.stop();
