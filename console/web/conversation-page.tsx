/**
 * One conversation, live: what is recorded (state and transcript, re-sent by the server whenever the
 * conversation changes, whoever changed it) and the reply a model step is writing, which is only a
 * preview: it goes away as soon as the recorded reply is there, so the page always ends on exactly
 * the recorded text, however often it reconnected.
 */
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type {
  ApprovalOutcome,
  ChatMessage,
  ConsoleMeta,
  ConversationView,
  LiveEvent,
  PartialReply,
} from '../api-types';
import { formatCounts } from '../../contract/usage';
import { conversationUrl, get, post } from './api';
import { AgentBadge, ErrorLine, PathView, formatCents } from './parts';
import { Transcript } from './transcript';

/** The last message ends a turn: a reply with no tool calls, or a desk event. */
function turnOver(transcript: ChatMessage[]): boolean {
  const last = transcript[transcript.length - 1];
  return !!last && (last.role === 'event' || (last.role === 'assistant' && !last.toolCalls?.length && !!last.content));
}

/**
 * A step's final text is exactly what the workflow records: once an assistant message of the current
 * turn (after the customer's last message) says the same, the preview has nothing left to show. The
 * side channel and the recorded state are read one after the other, so either can come first.
 */
function recorded(text: string, transcript: ChatMessage[]): boolean {
  for (let i = transcript.length - 1; i >= 0; i--) {
    const m = transcript[i]!;
    if (m.role === 'user') return false;
    if (m.role === 'assistant' && m.content === text) return true;
  }
  return false;
}

interface Preview extends PartialReply {
  /** The transcript's length when this step's last chunk came: once it grows, the recorded reply is in. */
  lengthAtFinal?: number;
}

function useLive(id: string) {
  const [view, setView] = useState<ConversationView>();
  const [preview, setPreview] = useState<Preview>();
  const [connected, setConnected] = useState(false);
  const [problem, setProblem] = useState('');
  useEffect(() => {
    setView(undefined);
    setPreview(undefined);
    let transcript: ChatMessage[] = [];
    let current: Preview | undefined;
    const show = (p: Preview | undefined) => {
      current = p;
      setPreview(p);
    };
    const source = new EventSource(`${conversationUrl(id)}/live`);
    source.onopen = () => setConnected(true);
    source.onerror = () => {
      setConnected(false);
      // A refused stream (an unknown conversation, Temporal out of reach) is not retried by the
      // browser: ask for the conversation once, to show why.
      if (source.readyState === EventSource.CLOSED)
        get(conversationUrl(id)).then(
          () => setProblem('the live stream closed; reload the page'),
          (err: Error) => setProblem(err.message),
        );
    };
    source.addEventListener('snapshot', (e) => {
      const { view } = JSON.parse((e as MessageEvent<string>).data) as Extract<LiveEvent, { type: 'snapshot' }>;
      transcript = view.transcript;
      setView(view);
      setProblem('');
      if (!current) return;
      const done = current.final
        ? transcript.length > (current.lengthAtFinal ?? transcript.length) || recorded(current.text, transcript)
        : turnOver(transcript);
      if (done) show(undefined);
    });
    source.addEventListener('partial', (e) => {
      const { partial } = JSON.parse((e as MessageEvent<string>).data) as Extract<LiveEvent, { type: 'partial' }>;
      if (partial.final && recorded(partial.text, transcript)) show(undefined);
      else show({ ...partial, ...(partial.final && { lengthAtFinal: transcript.length }) });
    });
    source.addEventListener('problem', (e) => {
      setProblem((JSON.parse((e as MessageEvent<string>).data) as Extract<LiveEvent, { type: 'problem' }>).message);
    });
    return () => source.close();
  }, [id]);
  return { view, preview, connected, problem };
}

/** Runs a request, keeping its error (shown on the page) and whether it is running. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError('');
    try {
      await fn();
      return true;
    } catch (err) {
      setError((err as Error).message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function MessageBox({ id, open }: { id: string; open: boolean }) {
  const [text, setText] = useState('');
  const action = useAction();
  return (
    <form
      class="card composer"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await action.run(() => post(`${conversationUrl(id)}/messages`, { text }))) setText('');
      }}
    >
      <textarea
        name="message"
        rows={2}
        placeholder={open ? 'Write as the customer…' : 'This conversation is closed.'}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" disabled={action.busy || !open}>
        {action.busy ? 'Waiting for the desk…' : 'Send'}
      </button>
      <ErrorLine error={action.error} />
    </form>
  );
}

function Controls({ id, open }: { id: string; open: boolean }) {
  const [reason, setReason] = useState('');
  const action = useAction();
  return (
    <section class="card controls">
      <h3>Control</h3>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await action.run(() => post(`${conversationUrl(id)}/rollback`, reason.trim() ? { reason } : {})))
            setReason('');
        }}
      >
        <input
          name="rollback-reason"
          placeholder="why roll back (kept in the trail)"
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <button type="submit" name="rollback" disabled={action.busy || !open}>
          Roll back to receptionist
        </button>
      </form>
      <button
        type="button"
        name="end"
        class="danger"
        disabled={action.busy || !open}
        onClick={() => void action.run(() => post(`${conversationUrl(id)}/end`))}
      >
        End conversation
      </button>
      <ErrorLine error={action.error} />
    </section>
  );
}

const DECIDER_KEY = 'desk-console-decider';

function Approvals({ id, view }: { id: string; view: ConversationView }) {
  const [by, setBy] = useState(localStorage.getItem(DECIDER_KEY) ?? '');
  const [note, setNote] = useState('');
  const [outcome, setOutcome] = useState('');
  const action = useAction();
  const approvals = view.state.approvals;
  if (!approvals.length) return null;
  const decide = (approvalId: string, decision: 'approve' | 'reject') =>
    action.run(async () => {
      localStorage.setItem(DECIDER_KEY, by);
      const result = await post<ApprovalOutcome>(`${conversationUrl(id)}/approvals/${encodeURIComponent(approvalId)}`, {
        decision,
        by,
        ...(note.trim() && { note }),
      });
      setOutcome(
        `${result.approval.id} ${result.approval.status}${result.approval.refundId ? `: refund ${result.approval.refundId}` : ''}`,
      );
      setNote('');
    });
  return (
    <section class="card approvals" data-testid="approvals">
      <h3>Refund approvals</h3>
      <ul>
        {approvals.map((a) => {
          const awaiting = a.status === 'pending' || a.status === 'escalated';
          return (
            <li key={a.id} data-approval={a.id} data-status={a.status}>
              <div>
                <strong>{formatCents(a.amountCents)}</strong> for order {a.orderId}, asked by{' '}
                <AgentBadge agent={a.agent} /> <span class={`status status-${a.status}`}>{a.status}</span>
              </div>
              <div class="muted">
                {a.id} · {a.reason}
                {a.status === 'pending' && ` · deadline ${new Date(a.deadline).toLocaleString()}`}
              </div>
              {a.decidedBy && (
                <div class="decided">
                  {a.status} by {a.decidedBy}
                  {a.note && ` (${a.note})`}
                  {a.refundId && (
                    <>
                      {' '}
                      · refund <strong data-testid="refund-id">{a.refundId}</strong>
                    </>
                  )}
                  {a.refundError && ` · refund failed: ${a.refundError}`}
                </div>
              )}
              {awaiting && (
                <div class="decide">
                  <input
                    name="decided-by"
                    placeholder="your name"
                    value={by}
                    onInput={(e) => setBy(e.currentTarget.value)}
                  />
                  <input
                    name="decision-note"
                    placeholder="note (optional)"
                    value={note}
                    onInput={(e) => setNote(e.currentTarget.value)}
                  />
                  {(['approve', 'reject'] as const).map((decision) => (
                    <button
                      key={decision}
                      type="button"
                      name={decision}
                      class={decision === 'reject' ? 'danger' : undefined}
                      disabled={action.busy}
                      onClick={() => void decide(a.id, decision)}
                    >
                      {decision === 'approve' ? 'Approve' : 'Reject'}
                    </button>
                  ))}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {outcome && <p class="ok">{outcome}</p>}
      <ErrorLine error={action.error} />
    </section>
  );
}

/** Tokens and cost, the conversation's and each agent's (contract/usage.ts says how they are summed and priced). */
function Usage({ usage }: { usage: ConversationView['state']['usage'] }) {
  return (
    <>
      <h3>Tokens and cost</h3>
      {usage ? (
        <dl data-testid="usage">
          <dt>conversation</dt>
          <dd data-testid="usage-total">{formatCounts(usage.total)}</dd>
          {Object.entries(usage.byAgent).map(([agent, counts]) => (
            <Fragment key={agent}>
              <dt>{agent}</dt>
              <dd data-testid={`usage-${agent}`}>{counts && formatCounts(counts)}</dd>
            </Fragment>
          ))}
        </dl>
      ) : (
        <p class="muted">no model step has reported tokens yet</p>
      )}
    </>
  );
}

function Statistics({ view }: { view: ConversationView }) {
  const { state } = view;
  const s = state.statistics;
  return (
    <section class="card stats">
      <h3>Path</h3>
      <PathView path={s.path} />
      <dl>
        <dt>agent now</dt>
        <dd data-testid="current-agent">
          <AgentBadge agent={state.currentAgent} />
        </dd>
        <dt>status</dt>
        <dd data-testid="status">
          {state.status}
          {state.closedReason && ` (${state.closedReason})`} · {view.execution}
        </dd>
        <dt>turns</dt>
        <dd>{state.turn}</dd>
        <dt>handoffs</dt>
        <dd data-testid="handoffs">{s.totalHandoffs}</dd>
        <dt>rollbacks</dt>
        <dd data-testid="rollbacks">{s.rollbacks}</dd>
        <dt>agents involved</dt>
        <dd>{s.agentsInvolved.join(', ')}</dd>
      </dl>
      <Usage usage={state.usage} />
      <h3>Trail</h3>
      <ol class="trail" data-testid="trail">
        {state.trail.map((t, i) => (
          <li key={i}>
            <span class="muted">
              turn {t.turn} · {new Date(t.at).toLocaleTimeString()}
            </span>{' '}
            {t.kind === 'handoff' && (
              <>
                handoff {t.from} → {t.to}: {t.reason}
              </>
            )}
            {t.kind === 'handoff_refused' && (
              <>
                refused {t.from} → {t.to}: {t.why}
              </>
            )}
            {t.kind === 'rollback' && (
              <>
                rollback {t.from} → {t.to}
                {t.noop && ' (no-op)'}: {t.reason}
              </>
            )}
            {t.kind === 'guard' && (
              <>
                guard {t.limit} ({t.agent})
              </>
            )}
            {t.kind === 'approval' && (
              <>
                approval {t.approvalId} {t.event}
                {t.by && ` by ${t.by}`}: refund {formatCents(t.amountCents)} for order {t.orderId}
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function ConversationPage({ id }: { id: string; meta?: ConsoleMeta }) {
  const { view, preview, connected, problem } = useLive(id);
  const open = view?.state.status === 'open' && view.execution === 'running';
  return (
    <div class="conversation">
      <div class="head">
        <a href="#/">← all conversations</a>
        <h1>{id}</h1>
        {view && <span class="muted">customer {view.state.customerId}</span>}
        <span class={`live ${connected ? 'on' : 'off'}`} data-testid="live">
          {connected ? 'live' : 'reconnecting…'}
        </span>
      </div>
      <ErrorLine error={problem} />
      {!view ? (
        <p class="muted">Loading…</p>
      ) : (
        <div class="columns">
          <div class="left">
            <section class="card">
              <Transcript messages={view.transcript} partial={preview} partialAgent={view.state.currentAgent} />
              {view.transcript.length === 0 && !preview && <p class="muted">No messages yet.</p>}
            </section>
            <MessageBox id={id} open={open} />
          </div>
          <div class="right">
            <Statistics view={view} />
            <Approvals id={id} view={view} />
            <Controls id={id} open={open} />
          </div>
        </div>
      )}
    </div>
  );
}
