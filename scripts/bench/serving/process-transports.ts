/**
 * Three ways to hand a large tensor to a child process and get a large one back, timed side
 * by side: what chose the slot files of hosting/tensor-files.ts for model processes.
 *   ipc:    child.send with V8 serialisation (`serialization: 'advanced'`), both ways
 *   socket: length-framed bytes over an extra stdio socketpair, no serialisation
 *   file:   pwrite into a tmpfs file (/dev/shm), a small IPC message as the doorbell, pread
 * The child echoes nothing but an answer of OUT_FLOATS floats; PaddleOCR's rec sizes by default.
 *
 *   node --import tsx scripts/bench/serving/process-transports.ts
 *   env: IN_FLOATS=46080 (1x3x48x320)  OUT_FLOATS=265000 (1x40x6625)  ROUNDS=200
 */
import { fork } from 'node:child_process';
import { openSync, readSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Socket as NetSocket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensorFileDir } from '../../../services/serving/hosting/tensor-files.js';

const IN = Number(process.env.IN_FLOATS ?? 46_080);
const OUT = Number(process.env.OUT_FLOATS ?? 265_000);
const ROUNDS = Number(process.env.ROUNDS ?? 200);
type Way = 'ipc' | 'socket' | 'file';

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Frames: a 4-byte length, then the bytes; calls `onFrame` with each whole frame. */
function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let frame: Buffer | undefined;
  let filled = 0;
  return (chunk) => {
    let data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (data.length) {
      if (!frame) {
        if (data.length < 4) {
          pending = data;
          return;
        }
        frame = Buffer.allocUnsafe(data.readUInt32LE(0));
        filled = 0;
        data = data.subarray(4);
      }
      const n = Math.min(frame.length - filled, data.length);
      data.copy(frame, filled, 0, n);
      filled += n;
      data = data.subarray(n);
      if (filled === frame.length) {
        const whole = frame;
        frame = undefined;
        onFrame(whole);
      }
    }
  };
}

function sendFrame(socket: Socket, payload: Float32Array): void {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.byteLength, 0);
  socket.cork();
  socket.write(len);
  socket.write(bytesOf(payload));
  socket.uncork();
}

function child(way: Way, path: string): void {
  const out = new Float32Array(OUT).fill(0.5);
  const inp = new Float32Array(IN);
  if (way === 'ipc') process.on('message', () => process.send!({ data: out }));
  if (way === 'file') {
    const fd = openSync(path, 'r+');
    process.on('message', (m: { bytes: number }) => {
      readSync(fd, bytesOf(inp), 0, m.bytes, 0);
      writeSync(fd, bytesOf(out), 0, out.byteLength, 0);
      process.send!({ bytes: out.byteLength });
    });
  }
  if (way === 'socket') {
    const socket = new NetSocket({ fd: 3, readable: true, writable: true });
    socket.on(
      'data',
      frames(() => sendFrame(socket, out)),
    );
  }
  process.on('disconnect', () => process.exit(0));
}

async function measure(way: Way): Promise<{ ms: number; cpuMs: number }> {
  const path = join(tensorFileDir(), `swarmml-bench-transports-${process.pid}`);
  const fd = way === 'file' ? openSync(path, 'w+') : -1;
  const proc = fork(fileURLToPath(import.meta.url), [way, path], {
    execArgv: process.execArgv,
    serialization: 'advanced',
    stdio: ['inherit', 'inherit', 'inherit', way === 'socket' ? 'pipe' : 'ignore', 'ipc'],
  });
  const inp = new Float32Array(IN).fill(0.25);
  const out = new Float32Array(OUT);
  let answered: () => void = () => {};
  if (way === 'socket') {
    (proc.stdio[3] as Socket).on(
      'data',
      frames((f) => {
        out.set(new Float32Array(f.buffer, f.byteOffset, f.length / 4));
        answered();
      }),
    );
  } else {
    proc.on('message', (m: { data?: Float32Array; bytes?: number }) => {
      if (m.data) out.set(m.data);
      else readSync(fd, bytesOf(out), 0, m.bytes!, 0);
      answered();
    });
  }
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
      if (way === 'ipc') proc.send({ data: inp });
      else if (way === 'socket') sendFrame(proc.stdio[3] as Socket, inp);
      else {
        writeSync(fd, bytesOf(inp), 0, inp.byteLength, 0);
        proc.send({ bytes: inp.byteLength });
      }
    });
  for (let i = 0; i < 30; i++) await roundTrip();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await roundTrip();
  const ms = (performance.now() - t0) / ROUNDS;
  const c = process.cpuUsage(c0);
  proc.disconnect();
  if (fd >= 0) {
    closeSync(fd);
    unlinkSync(path);
  }
  return { ms, cpuMs: (c.user + c.system) / 1000 / ROUNDS };
}

const [role, path] = process.argv.slice(2);
if (role === 'ipc' || role === 'socket' || role === 'file') child(role, path!);
else {
  const kb = (floats: number) => Math.round((floats * 4) / 1024);
  console.log(
    `one round trip to a child process, ${kb(IN)} KB in, ${kb(OUT)} KB out, ${ROUNDS} rounds`,
  );
  console.log('transport   ms/round trip   parent CPU ms');
  const rows: [Way, { ms: number; cpuMs: number }][] = [];
  for (const way of ['ipc', 'socket', 'file'] as Way[]) rows.push([way, await measure(way)]);
  for (const [way, r] of rows)
    console.log(
      `${way.padEnd(10)} ${r.ms.toFixed(2).padStart(15)} ${r.cpuMs.toFixed(2).padStart(15)}`,
    );
  const ipc = rows[0]![1].ms;
  console.log(`against ipc: ${rows.map(([w, r]) => `${w} ${(r.ms / ipc).toFixed(2)}`).join(', ')}`);
}
