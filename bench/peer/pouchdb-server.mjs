#!/usr/bin/env node
// Reference CouchDB-protocol peer: pouchdb-server 4.2.0's stack (express-pouchdb 4.2.0 +
// pouchdb-core 7.3.1 + the in-memory adapter), started in-process with no files written
// (in-memory config, log to the null device) and no native build needed.
//
// Usage:
//   node bench/peer/pouchdb-server.mjs [--port 5984] [--host 127.0.0.1] [--dir DIR]
//                                      [--admin user:pass | --no-admin] [--log]
//
// Without --dir everything is in memory (pouchdb-server --in-memory). With --dir DIR the databases
// are LevelDB (leveldown's bundled prebuilt binary, no compiler needed) under DIR and the config
// (server uuid, hashed admin) is DIR/config.json, so a restarted peer keeps its data and uuid.
//
// --port 0 picks a free port. Once listening it prints one line to stdout:
//   pouchdb-server listening on http://127.0.0.1:<port>/
// The admin defaults to $COUCHSYNC_ADMIN (user:pass) or admin:secret. With an admin the server
// is no longer in "admin party", but (as in CouchDB 1.x / pouchdb-server) databases stay readable
// and writable anonymously; Basic auth with the admin's credentials is accepted, wrong ones get 401.
// SIGTERM / SIGINT stop it.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { devNull } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT || '5984' },
    host: { type: 'string', default: '127.0.0.1' },
    admin: { type: 'string', default: process.env.COUCHSYNC_ADMIN || 'admin:secret' },
    dir: { type: 'string' },
    'no-admin': { type: 'boolean', default: false },
    log: { type: 'boolean', default: false }, // print the request log to stderr
  },
});

// Resolve every module the way pouchdb-server itself would, so the peer runs exactly its
// pinned dependency tree (not the PouchDB 9 packages hoisted at the top level).
const serverRequire = createRequire(createRequire(import.meta.url).resolve('pouchdb-server/package.json'));
const express = serverRequire('express');
const expressPouchDB = serverRequire('express-pouchdb');
const PouchDB = serverRequire('pouchdb-core')
  .plugin(serverRequire('pouchdb-adapter-http'))
  .plugin(serverRequire('pouchdb-replication'))
  .plugin(serverRequire('pouchdb-mapreduce'))
  .plugin(serverRequire('pouchdb-adapter-memory'));

// In memory nothing touches the disk (the CouchDB-style log goes to the null device, so even a
// SIGKILLed peer leaves nothing behind); with --dir, databases, config and log live in DIR.
const persistent = Boolean(args.dir);
const workDir = persistent ? resolvePath(args.dir) : null;
if (persistent) {
  mkdirSync(workDir, { recursive: true });
  PouchDB.plugin(serverRequire('pouchdb-adapter-leveldb'));
}
const ServerPouchDB = persistent
  ? PouchDB.defaults({ adapter: 'leveldb', prefix: workDir + '/' })
  : PouchDB.defaults({ adapter: 'memory' });

const pouchApp = expressPouchDB(ServerPouchDB, {
  mode: 'fullCouchDB',
  inMemoryConfig: !persistent,
  configPath: persistent ? join(workDir, 'config.json') : undefined,
  logPath: persistent ? join(workDir, 'log.txt') : devNull,
  overrideMode: { exclude: ['routes/fauxton'] },
});

const config = pouchApp.couchConfig;
if (!args['no-admin'] && args.admin && !config.getSection('admins')[args.admin.split(':')[0]]) {
  const i = args.admin.indexOf(':');
  if (i < 1) {
    console.error('--admin must be user:pass');
    process.exit(2);
  }
  await new Promise((resolve, reject) =>
    config.set('admins', args.admin.slice(0, i), args.admin.slice(i + 1), (err) => (err ? reject(err) : resolve())),
  );
}

const app = express();
if (args.log) {
  app.use((req, res, next) => {
    const t = Date.now();
    res.on('finish', () => process.stderr.write(`${req.method} ${req.originalUrl} ${res.statusCode} ${Date.now() - t}ms\n`));
    next();
  });
}
app.use(pouchApp);

const port = Number(args.port);
const server = app.listen(port, args.host, () => {
  const { port: actual } = server.address();
  process.stdout.write(`pouchdb-server listening on http://${args.host}:${actual}/\n`);
});
server.on('error', (e) => {
  console.error(`pouchdb-server peer: ${e.message}`);
  process.exit(1);
});

const sockets = new Set();
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

function shutdown() {
  server.close(() => {
    process.exit(0);
  });
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
