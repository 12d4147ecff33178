/**
 * freePort (scripts/dev-server.ts): the ports the tests, the benchmark and cluster mode start servers
 * on. They come from below the kernel's ephemeral range, where outgoing connections cannot take them
 * between the pick and the bind, and below 32768 (Temporal's membership ports), never twice in a
 * process.
 */
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../../scripts/dev-server';

test('free ports are distinct, below the ephemeral range and 32768, and can be listened on', async () => {
  let ephemeralFrom = 32768;
  try {
    ephemeralFrom = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: the usual range
  }
  const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
  expect(new Set(ports).size).toBe(40);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(Math.min(ephemeralFrom, 32768));
  }
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ports[0], '127.0.0.1', () => resolve());
  });
  await new Promise((resolve) => server.close(resolve));
});
