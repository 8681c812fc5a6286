import { Dbs } from './lib/pouch.mjs';
import { startServer } from './lib/server.mjs';
import { randomBytes } from 'node:crypto';
const server = await startServer();
const dbs = new Dbs();
try {
const a = dbs.mem('a'); const r = dbs.remote(server, 'att');
const bin1 = randomBytes(1024*1024+7);
await a.put({_id:'d', _attachments:{'blob.bin':{content_type:'application/octet-stream', data: bin1}, 'n.txt':{content_type:'text/plain', data: Buffer.from('hi')}}});
console.log('S1'); await a.replicate.to(r); console.log('S2');
const b = dbs.mem('b'); await b.replicate.from(r); console.log('S3');
for (const db of [a,r,b]) { const x = await db.getAttachment('d','blob.bin'); console.log('got', db.adapter, x.length); }
} catch(e) { console.log('ERR', e); console.log(dbs.log.dump()); }
await dbs.closeAll(); await server.cleanup();
