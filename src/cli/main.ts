import { createApp } from '../api/app.ts';
import { closeServers, serveNode } from '../api/serve-node.ts';
import { bootMember } from '../server/boot.ts';
import { toConfig } from './config.ts';
import { FlagError, parseFlags, usage } from './flags.ts';
import pkg from '../../package.json' with { type: 'json' };

async function main(): Promise<void> {
  let cfg;
  try {
    const args = parseFlags(process.argv.slice(2), process.env);
    if (args.help) {
      console.log(usage());
      return;
    }
    if (args.version) {
      console.log(`edgecd Version: ${pkg.version}\nAPI (etcd) Version: 3.4\nNode Version: ${process.version}`);
      return;
    }
    cfg = toConfig(args.values);
  } catch (err) {
    if (err instanceof FlagError) {
      console.error(`edgecd: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const booted = await bootMember({ name: cfg.name, dataDir: cfg.dataDir, databaseUrl: cfg.databaseUrl });
  const app = createApp(booted.member, { maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps });
  const servers = await serveNode(app, cfg.listenClientUrls);
  console.log(`edgecd: member ${cfg.name} (${booted.member.memberId.toString(16)}) serving clients on ${cfg.listenClientUrls.join(', ')}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`edgecd: ${signal}, shutting down`);
    await closeServers(servers);
    await booted.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error('edgecd: failed to start:', err);
  process.exit(1);
});
