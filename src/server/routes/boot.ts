// /boot.ipxe?mac=…: what a vm or hw testbox network-boots into, as
// compass-ci serves it. The request claims the box's next job; the script
// lists the job's initrds and, when it has a linux build, that kernel.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { MAC_PATTERN, type Assignment } from '../../api/contract.ts';
import { clientGone } from '../errors.ts';

// request.host is the Host header, or X-Forwarded-Host when the server trusts its proxy (--trust-proxy).
const origin = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

export function ipxeScript(base: string, a: Assignment, host: string, withToken = false): string {
  // With accounts on, every file of the job is fetched with the job's own token (iPXE cannot send a header).
  const q = withToken && a.job_token ? `?token=${encodeURIComponent(a.job_token)}` : '';
  // The os image first, as compass-ci's scripts list it: the job's initrds unpack over it.
  const initrds = [...(a.os_image ? [a.os_image.url] : []), ...a.job.initrds].map((u) => base + u + q);
  if (a.job.modules_uri) initrds.push(...a.job.modules_uri.map((u) => base + u + q));
  const names = initrds.map((u) => u.slice(u.lastIndexOf('/') + 1).replace(/\?.*$/, ''));
  const lines = ['#!ipxe', `# stacklab job ${a.job.id} (${a.job.suite}) for ${host}`];
  for (const u of initrds) lines.push(`initrd ${u}`);
  if (a.job.kernel_uri) {
    const args = ['user=lkp', `job=/lkp/scheduled/job.yaml`, `RESULT_ROOT=${a.job.result_root}`, 'ip=dhcp', 'rootovl', 'ro', ...names.map((n) => `initrd=${n}`)];
    lines.push(`kernel ${base}${a.job.kernel_uri}${q} ${args.join(' ')}`);
  } else {
    lines.push(`echo job ${a.job.id} builds no kernel of its own: boot ${String(a.job.os)} ${String(a.job.os_version)}'s default kernel`);
  }
  lines.push('boot', '');
  return lines.join('\n');
}

export const bootRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/boot.ipxe',
    {
      config: { access: 'testbox' },
      schema: {
        tags: ['boot'],
        summary: "iPXE script for the testbox with this MAC: its next job's initrds and kernel",
        produces: ['text/plain'],
        querystring: Type.Object({
          mac: Type.String({ pattern: MAC_PATTERN }),
          wait: Type.Number({ minimum: 0, maximum: 60, default: 0 }),
          token: Type.Optional(Type.String({ maxLength: 200, description: "With accounts on: the box's token (iPXE cannot send a header)" })),
        }),
        response: { 200: Type.String({ description: 'An iPXE script' }), 404: Type.String({ description: 'An iPXE script that says no testbox has this MAC' }) },
      },
    },
    async (request, reply) => {
      const mac = request.query.mac.toLowerCase().replace(/-/g, ':');
      reply.type('text/plain; charset=utf-8');
      const box = await scheduler.testboxByMac(mac);
      if (!box) return reply.status(404).send(`#!ipxe\necho stacklab: no testbox is registered with MAC ${mac}\nsleep 30\nreboot\n`);
      // A machine asking for its boot script is alive, whatever it last said: it was silent while it
      // rebooted (longer than testbox_lost_after, often), and a lost box is given no job.
      await scheduler.heartbeat(box.hostname, request.caller);
      const a = await scheduler.next(box.hostname, request.query.wait * 1000, clientGone(reply), request.caller);
      const again = `${origin(request)}/boot.ipxe?mac=${mac}${request.query.token ? `&token=${encodeURIComponent(request.query.token)}` : ''}`;
      if (!a) return `#!ipxe\necho No job now\nsleep 30\nchain ${again}\n`;
      return ipxeScript(origin(request), a, box.hostname, request.caller.kind !== 'open');
    },
  );
};
