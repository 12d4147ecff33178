/**
 * The live side of the console: one watcher per conversation that some page has open, shared by
 * every page (and tab) watching it, stopped when the last one leaves.
 *
 * Two sources, polled in one loop:
 * - **What is recorded**: the server's event count (`describe()`: history length and run id) is
 *   cheap and involves no worker; only when it moves are the `state` and `history` queries read and
 *   a new snapshot sent. Anything that changes a conversation (a message, a step, a rollback from the
 *   CLI or another tab, continue-as-new, the end) adds events, so it shows.
 * - **What is being written**: the reply text a running model step streams, from the side channel
 *   (activities/reply-stream.ts, the shop database the workers write), folded per step over retries.
 *   It never goes through Temporal, and it is only ever a preview: the page replaces it with the
 *   recorded reply, which is the only text that counts.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { foldReplyChunks, type ReplyChunk, type ReplyStreamReader } from '../activities/reply-stream';
import { historyQuery, stateQuery } from '../workflows/messages';
import type { ConversationView, LiveEvent, PartialReply } from './api-types';

export interface LiveOptions {
  client: Client;
  /** The streamed replies; without one the console still shows every recorded change. */
  streams?: ReplyStreamReader;
  /** How often each watched conversation is looked at (default 200 ms). */
  intervalMs?: number;
}

type Listener = (event: LiveEvent) => void;

/** Read a conversation's state and transcript together (the page shows them side by side). */
export async function readConversation(
  client: Client,
  id: string,
  description?: WorkflowExecutionDescription,
): Promise<ConversationView> {
  const handle = client.workflow.getHandle(id);
  const [desc, state, transcript] = await Promise.all([
    description ?? handle.describe(),
    handle.query(stateQuery),
    handle.query(historyQuery),
  ]);
  return { id, runId: desc.runId, execution: desc.status.name.toLowerCase(), state, transcript };
}

/** How long a tick waits for the recorded conversation before it reads the stream again. */
const RECORDED_WAIT_MS = 250;

/** Chunks are read in pages of this many; a conversation's whole stream is read once, when a watch starts. */
const PAGE = 500;

class Watch {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private version = '';
  private snapshot: ConversationView | undefined;
  private cursor = 0;
  private chunks = new Map<string, ReplyChunk[]>();
  /** The step whose chunk was read last: the only one that can still be running. */
  private newestStep: string | undefined;
  private problem: string | undefined;
  /** The read of the recorded conversation in progress, if one is. */
  private recording: Promise<void> | undefined;

  constructor(
    private readonly id: string,
    private readonly opts: LiveOptions,
    private readonly onIdle: () => void,
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    // A page that (re)connects gets what is recorded, then at most the one step still being written.
    if (this.snapshot) listener({ type: 'snapshot', view: this.snapshot });
    const running = this.runningPartial();
    if (running) listener({ type: 'partial', partial: running });
    if (!this.timer && !this.stopped) void this.tick(true);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private emit(event: LiveEvent): void {
    for (const l of this.listeners) l(event);
  }

  private runningPartial(): PartialReply | undefined {
    const step = this.newestStep && this.chunks.get(this.newestStep);
    if (!step) return undefined;
    const partial = this.fold(this.newestStep!, step);
    return partial.final ? undefined : partial;
  }

  private fold(step: string, chunks: ReplyChunk[]): PartialReply {
    const folded = foldReplyChunks(chunks).find((s) => s.step === step);
    return { step, text: folded?.text ?? '', final: folded?.final ?? false };
  }

  private async tick(first = false): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    try {
      // The stream first: a step's last chunks then reach the page before (not with) its recorded
      // reply, which replaces them, so a short step still shows as it is written.
      await this.readStreamed(first);
    } catch (err) {
      this.report(err);
    }
    // The recorded side runs queries, which wait while a `local` conversation's turn holds its
    // workflow task: the stream goes on meanwhile, and the next tick waits for the same read.
    this.recording ??= this.readRecorded()
      .then(
        () => (this.problem = undefined),
        (err: unknown) => this.report(err),
      )
      .finally(() => (this.recording = undefined));
    await Promise.race([this.recording, new Promise((r) => setTimeout(r, RECORDED_WAIT_MS).unref())]);
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.opts.intervalMs ?? 200);
  }

  private report(err: unknown): void {
    const message = (err as Error).message;
    if (message !== this.problem) this.emit({ type: 'problem', message });
    this.problem = message;
  }

  private async readRecorded(): Promise<void> {
    const description = await this.opts.client.workflow.getHandle(this.id).describe();
    const version = `${description.runId}:${description.historyLength}:${description.status.name}`;
    if (version === this.version) return;
    const view = await readConversation(this.opts.client, this.id, description);
    this.version = version;
    this.snapshot = view;
    this.emit({ type: 'snapshot', view });
  }

  /**
   * New chunks, folded per step; the page gets each touched step's whole text so far (so a chunk
   * missed or a retried attempt never leaves duplicated or stale text on the page). On the first
   * read, steps already finished are not sent: their text is recorded.
   */
  private async readStreamed(first: boolean): Promise<void> {
    const streams = this.opts.streams;
    if (!streams) return;
    const touched = new Set<string>();
    for (;;) {
      const page = await streams.since(this.id, this.cursor, PAGE);
      for (const chunk of page) {
        const list = this.chunks.get(chunk.step) ?? [];
        list.push(chunk);
        this.chunks.set(chunk.step, list);
        this.cursor = Math.max(this.cursor, chunk.id);
        this.newestStep = chunk.step;
        touched.add(chunk.step);
      }
      if (page.length < PAGE) break;
    }
    // Keep only the step that may still be running: older ones are recorded (or were abandoned).
    for (const step of [...this.chunks.keys()]) if (step !== this.newestStep) this.chunks.delete(step);
    if (first) {
      const running = this.runningPartial();
      if (running) this.emit({ type: 'partial', partial: running });
      return;
    }
    for (const step of touched) {
      const chunks = this.chunks.get(step);
      if (chunks) this.emit({ type: 'partial', partial: this.fold(step, chunks) });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onIdle();
  }
}

/** Every watched conversation, by id. */
export class LiveHub {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly opts: LiveOptions) {}

  subscribe(id: string, listener: Listener): () => void {
    let watch = this.watches.get(id);
    if (!watch) {
      const created: Watch = new Watch(id, this.opts, () => {
        if (this.watches.get(id) === created) this.watches.delete(id);
      });
      watch = created;
      this.watches.set(id, watch);
    }
    return watch.subscribe(listener);
  }

  /** How many conversations are being watched (for tests and the status line). */
  get size(): number {
    return this.watches.size;
  }

  close(): void {
    for (const w of [...this.watches.values()]) w.stop();
  }
}
