/** Small pieces shared by both pages. */

export function AgentBadge({ agent }: { agent: string }) {
  return <span class={`agent agent-${agent}`}>{agent}</span>;
}

export function ErrorLine({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** `receptionist -> order -> billing`, drawn: one badge per agent, arrows between. */
export function PathView({ path }: { path: string }) {
  const hops = path.split(' -> ');
  return (
    <div class="path" data-testid="path" aria-label={`path: ${path}`}>
      {hops.map((hop, i) => (
        <span key={i} class="hop">
          {i > 0 && <span class="arrow">→</span>}
          {hop === '…' ? <span class="muted">…</span> : <AgentBadge agent={hop} />}
        </span>
      ))}
    </div>
  );
}

/** A tool call's JSON arguments, pretty when they parse. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
