/**
 * The help-centre search behind `search_help_docs`: the markdown articles in `<repo>/help-docs/`
 * loaded once when the tool runner is built (a missing folder fails the worker at start, not a
 * customer's turn) and indexed in memory with minisearch, fuzzy and prefix matching so "webhok"
 * or "paginat" still find their article. A snippet is the article's paragraph that shares the
 * most terms with the query.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import MiniSearch from 'minisearch';

export interface HelpArticle {
  /** The file name without `.md`, e.g. `rate-limits-429`. */
  id: string;
  title: string;
  body: string;
}

export interface HelpHit {
  id: string;
  title: string;
  snippet: string;
}

export interface HelpDocs {
  readonly articles: readonly HelpArticle[];
  search(query: string, limit?: number): HelpHit[];
}

export const DEFAULT_HELP_DOCS_DIR = resolve(__dirname, '..', '..', 'help-docs');

const SNIPPET_MAX = 240;

// Words that match every article and would drown the ones that matter ("429", "webhook").
const STOP_WORDS = new Set(
  'a an and are as at be but by can do does for from get got how i if in is it its me my no not of on or our so that the this to was we what when why with you your'.split(
    ' ',
  ),
);

function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  return STOP_WORDS.has(t) ? null : t;
}

/** Reads every `*.md` article in `dir` except README.md. */
export function loadHelpArticles(dir: string = DEFAULT_HELP_DOCS_DIR): HelpArticle[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md')
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const [first = '', ...rest] = text.split('\n');
      const title = first.replace(/^#\s*/, '').trim();
      return { id: basename(file, '.md'), title: title || basename(file, '.md'), body: rest.join('\n').trim() };
    });
}

export function createHelpDocs(articles: readonly HelpArticle[]): HelpDocs {
  const index = new MiniSearch<HelpArticle>({
    fields: ['title', 'body'],
    storeFields: ['title'],
    tokenize,
    processTerm,
    searchOptions: { boost: { title: 2 }, fuzzy: 0.2, prefix: true, combineWith: 'OR' },
  });
  index.addAll([...articles]);
  const byId = new Map(articles.map((a) => [a.id, a]));

  return {
    articles,
    search(query, limit = 3) {
      return index
        .search(query)
        .slice(0, limit)
        .flatMap((hit) => {
          const article = byId.get(String(hit.id));
          return article ? [{ id: article.id, title: article.title, snippet: snippet(article.body, hit.terms) }] : [];
        });
    },
  };
}

/** The paragraph with the most matched terms (the first on a tie), cut at a word boundary. */
function snippet(body: string, matchedTerms: readonly string[]): string {
  const terms = new Set(matchedTerms);
  const paragraphs = body
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').replace(/`/g, '').trim())
    .filter(Boolean);
  let best = paragraphs[0] ?? '';
  let bestScore = -1;
  for (const p of paragraphs) {
    const score = new Set(tokenize(p).filter((t) => terms.has(t))).size;
    if (score > bestScore) {
      best = p;
      bestScore = score;
    }
  }
  if (best.length <= SNIPPET_MAX) return best;
  const cut = best.slice(0, SNIPPET_MAX);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), SNIPPET_MAX / 2))}…`;
}
