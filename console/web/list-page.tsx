/**
 * The conversation list: filters that become a visibility query on the desk's search attributes
 * (agent, customer, open/closed, pending approval), refreshed every few seconds, and the form that
 * starts a conversation for a chosen customer.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleMeta, ConversationRow } from '../api-types';
import { get, post } from './api';
import { AgentBadge, ErrorLine } from './parts';

interface Filters {
  agent: string;
  customer: string;
  status: 'any' | 'open' | 'closed';
  pending: boolean;
}

const REFRESH_MS = 3000;

function StartForm({ meta }: { meta?: ConsoleMeta }) {
  const [customerId, setCustomer] = useState('alice');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="card start"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError('');
        try {
          const { id } = await post<{ id: string }>('/api/conversations', { customerId, message });
          location.hash = `#/c/${encodeURIComponent(id)}`;
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>New conversation</h2>
      <label>
        Customer
        <input
          name="customer"
          list="customers"
          value={customerId}
          onInput={(e) => setCustomer(e.currentTarget.value)}
        />
        <datalist id="customers">
          {meta?.customers.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </label>
      <label class="grow">
        First message (optional)
        <input
          name="first-message"
          value={message}
          placeholder="e.g. Has my order #12345 shipped?"
          onInput={(e) => setMessage(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Start conversation
      </button>
      <ErrorLine error={error} />
    </form>
  );
}

export function ListPage({ meta }: { meta?: ConsoleMeta }) {
  const [filters, setFilters] = useState<Filters>({ agent: '', customer: '', status: 'any', pending: false });
  const [rows, setRows] = useState<ConversationRow[]>();
  const [query, setQuery] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    let stopped = false;
    const params = new URLSearchParams();
    if (filters.agent) params.set('agent', filters.agent);
    if (filters.customer.trim()) params.set('customer', filters.customer.trim());
    params.set('status', filters.status);
    if (filters.pending) params.set('pending', '1');
    const load = () =>
      get<{ query: string; rows: ConversationRow[] }>(`/api/conversations?${params}`).then(
        (r) => {
          if (stopped) return;
          setRows(r.rows);
          setQuery(r.query);
          setError('');
        },
        (err: Error) => !stopped && setError(err.message),
      );
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [filters]);

  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch });
  return (
    <>
      <StartForm meta={meta} />
      <section class="card">
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <label>
            Agent
            <select name="agent" value={filters.agent} onChange={(e) => set({ agent: e.currentTarget.value })}>
              <option value="">any</option>
              {meta?.agents.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            Customer
            <input
              name="customer-filter"
              value={filters.customer}
              placeholder="any"
              onChange={(e) => set({ customer: e.currentTarget.value })}
            />
          </label>
          <label>
            Status
            <select
              name="status"
              value={filters.status}
              onChange={(e) => set({ status: e.currentTarget.value as Filters['status'] })}
            >
              <option value="any">any</option>
              <option value="open">open</option>
              <option value="closed">closed</option>
            </select>
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="pending"
              checked={filters.pending}
              onChange={(e) => set({ pending: e.currentTarget.checked })}
            />
            pending approval
          </label>
        </form>
        <p class="query" title="the visibility query, usable in the Temporal UI too">
          <code>{query}</code>
        </p>
        <ErrorLine error={error} />
        <table class="conversations">
          <thead>
            <tr>
              <th>Conversation</th>
              <th>Customer</th>
              <th>Agent</th>
              <th>Handoffs</th>
              <th>Pending approvals</th>
              <th>Status</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((r) => (
              <tr key={r.id} data-id={r.id}>
                <td>
                  <a href={`#/c/${encodeURIComponent(r.id)}`}>{r.id}</a>
                </td>
                <td>{r.customerId ?? '-'}</td>
                <td>{r.agent ? <AgentBadge agent={r.agent} /> : '-'}</td>
                <td>{r.handoffs ?? '-'}</td>
                <td>{r.pendingApprovals ? <span class="pending">{r.pendingApprovals}</span> : '-'}</td>
                <td>{r.status}</td>
                <td>{new Date(r.startTime).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows && rows.length === 0 && <p class="muted">No conversations match.</p>}
      </section>
    </>
  );
}
