/**
 * The console's page: a hash router between the conversation list (`#/`) and one conversation
 * (`#/c/<id>`), and the token box every mutating button depends on.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleMeta } from '../api-types';
import { adoptTokenFromUrl, get, getToken, setToken } from './api';
import { ConversationPage } from './conversation-page';
import { ListPage } from './list-page';
import './style.css';

function useRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function TokenBox() {
  const [token, setLocal] = useState(getToken());
  const [editing, setEditing] = useState(!token);
  if (!editing)
    return (
      <span class="token">
        token set{' '}
        <button type="button" class="link" onClick={() => setEditing(true)}>
          change
        </button>
      </span>
    );
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(token.trim());
        setEditing(!token.trim());
      }}
    >
      <input
        type="password"
        name="token"
        placeholder="console token (DESK_CONSOLE_TOKEN)"
        value={token}
        onInput={(e) => setLocal(e.currentTarget.value)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [meta, setMeta] = useState<ConsoleMeta>();
  useEffect(() => {
    get<ConsoleMeta>('/api/meta').then(setMeta, () => undefined);
  }, []);
  const conversation = /^#\/c\/(.+)$/.exec(route);
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          Service desk console
        </a>
        {meta && (
          <span class="where">
            Temporal {meta.temporalAddress} · namespace {meta.namespace}
          </span>
        )}
        <TokenBox />
      </header>
      <main>
        {conversation?.[1] ? (
          <ConversationPage id={decodeURIComponent(conversation[1])} meta={meta} />
        ) : (
          <ListPage meta={meta} />
        )}
      </main>
    </>
  );
}

adoptTokenFromUrl();
render(<App />, document.getElementById('app')!);
