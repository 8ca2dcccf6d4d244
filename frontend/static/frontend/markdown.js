// A small, safe Markdown renderer for model answers.
//
// Safety comes from the order of work: every character of the source is HTML-escaped first, and only then
// are Markdown constructs turned into tags this module writes itself. Escaped text contains no `<`, `>`,
// `"` or `'`, so nothing from the source can open a tag or leave an attribute; link targets are limited to
// http(s), mailto and same-site paths. Supported: fenced code blocks (highlighted), inline code, headings,
// bold/italic/strike, links, ordered and unordered lists (nested by indent), tables, quotes, rules, and
// citation markers [n], which become buttons. An unclosed fence (mid-stream) renders as code to the end.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]{0,20})[^\n]*$/;

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** HTML for `source`. Citation markers become buttons with data-number (clicks are handled by the caller). */
export function renderMarkdown(source) {
  const text = markdownSource(source);
  const out = [];
  let prose = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += 1) {
    const fence = lines[i].match(FENCE);
    if (!fence) {
      prose.push(lines[i]);
      continue;
    }
    out.push(renderBlocks(prose.join("\n")));
    prose = [];
    const code = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trim().startsWith(fence[1])) code.push(lines[j++]);
    out.push(codeBlock(code.join("\n"), fence[2]));
    i = j; // the closing fence (or the end)
  }
  out.push(renderBlocks(prose.join("\n")));
  return out.join("");
}

/** The text as the renderer reads it: one kind of line break, and no NUL (it marks placeholders inside). */
export function markdownSource(text) {
  return String(text ?? "").replace(/\r\n?/g, "\n").replace(/\u0000/g, "");
}

/**
 * Where a growing `text` (already a markdownSource) can be cut: the end of its last blank line outside a code
 * fence, from `from` on (0, or an earlier result for a prefix of the same text). The part before a cut renders
 * alone as it does at the start of any longer text (every block ends at a blank line, and the cut is outside
 * fences), so a streaming answer renders it once and from then on only what follows.
 */
export function stableEnd(text, from = 0) {
  let cut = from;
  let fence = null; // the opening marker while inside a fence, as renderMarkdown finds them
  let start = from;
  for (let end = text.indexOf("\n", start); end !== -1; start = end + 1, end = text.indexOf("\n", start)) {
    const line = text.slice(start, end);
    if (fence) {
      if (line.trim().startsWith(fence)) fence = null;
    } else if (FENCE.test(line)) {
      fence = line.match(FENCE)[1];
    } else if (!line.trim()) {
      cut = end + 1;
    }
  }
  return cut;
}

function codeBlock(code, lang) {
  const label = escapeHtml(lang || "text");
  return (
    `<div class="code-block"><div class="code-head"><span>${label}</span>` +
    `<button type="button" class="copy-code" data-action="copy-code">Copy</button></div>` +
    `<pre><code class="lang-${label}">${highlight(code, lang)}</code></pre></div>`
  );
}

// --- Block structure (on escaped text) ------------------------------------------------------------

const HEADING = /^(#{1,6})\s+(.*?)\s*#*$/;
const RULE = /^ {0,3}([-*_])( *\1){2,} *$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const QUOTE = /^ {0,3}&gt; ?(.*)$/;

function renderBlocks(text) {
  const lines = escapeHtml(text).split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
    } else if (HEADING.test(line)) {
      const [, hashes, body] = line.match(HEADING);
      const level = Math.min(6, hashes.length + 2); // the page owns h1/h2
      out.push(`<h${level}>${inline(body)}</h${level}>`);
      i += 1;
    } else if (RULE.test(line)) {
      out.push("<hr>");
      i += 1;
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      i = table(lines, i, out);
    } else if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].match(QUOTE)[1]);
      out.push(`<blockquote>${quoted.map(inline).join("<br>")}</blockquote>`);
    } else if (LIST_ITEM.test(line)) {
      i = list(lines, i, out);
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() && !startsBlock(lines, i)) para.push(lines[i++].trim());
      out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    }
  }
  return out.join("");
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line) ||
    (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1]))
  );
}

function table(lines, start, out) {
  const cells = (row) => row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => inline(c.trim()));
  const head = cells(lines[start]);
  const rows = [];
  let i = start + 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(cells(lines[i++]));
  const th = head.map((c) => `<th>${c}</th>`).join("");
  const body = rows.map((r) => `<tr>${head.map((_, k) => `<td>${r[k] ?? ""}</td>`).join("")}</tr>`).join("");
  out.push(`<div class="table-wrap"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`);
  return i;
}

/** A list from line `start`; deeper-indented items nest. Returns the index after the list. */
function list(lines, start, out) {
  const items = [];
  let i = start;
  while (i < lines.length) {
    const match = lines[i].match(LIST_ITEM);
    if (match) {
      items.push({ indent: match[1].length, ordered: /\d/.test(match[2]), text: match[3] });
    } else if (lines[i].trim() && /^\s+/.test(lines[i]) && items.length) {
      items[items.length - 1].text += ` ${lines[i].trim()}`; // a continuation line
    } else {
      break;
    }
    i += 1;
  }
  out.push(nest(items, 0).html);
  return i;
}

function nest(items, from) {
  const indent = items[from].indent;
  const tag = items[from].ordered ? "ol" : "ul";
  let html = `<${tag}>`;
  let i = from;
  while (i < items.length && items[i].indent >= indent) {
    if (items[i].indent > indent + 1) {
      const child = nest(items, i);
      html = html.endsWith("</li>") ? `${html.slice(0, -5)}${child.html}</li>` : `${html}<li>${child.html}</li>`;
      i = child.next;
    } else {
      html += `<li>${inline(items[i].text)}</li>`;
      i += 1;
    }
  }
  return { html: `${html}</${tag}>`, next: i };
}

// --- Inline (on escaped text) ----------------------------------------------------------------------

function inline(text) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = text.replace(/`([^`]+)`/g, (_, code) => hold(`<code>${code}</code>`));
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) =>
    safeUrl(url) ? hold(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`) : whole,
  );
  s = s.replace(/\[(\d{1,2})\](?!\()/g, (_, n) =>
    hold(`<button type="button" class="citation" data-testid="citation" data-number="${n}">[${n}]</button>`),
  );
  s = s
    .replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/__(?=\S)(.+?)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*(?=[^\s*])(.+?)\*(?![*\w])/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_(?=[^\s_])(.+?)_(?![_\w])/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)(.+?)~~/g, "<del>$1</del>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, k) => held[Number(k)]);
}

function safeUrl(escapedUrl) {
  return /^(https?:\/\/|mailto:)/i.test(escapedUrl) || /^\/(?!\/)/.test(escapedUrl);
}

// --- A tiny highlighter: comments, strings, numbers, keywords; every piece escaped ------------------

const KEYWORDS = new Set(
  ("and as async await break case catch class const continue def default del do elif else enum except export " +
    "extends false False finally fn for from func function go if impl import in interface is lambda let match " +
    "mod mut new nil None not null or package pass private protected pub public raise return self static " +
    "struct super switch this throw true True try type typeof use var void while with yield").split(" "),
);
const TOKEN =
  /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/|--[^\n]*)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][\w]*)/g;

export function highlight(code, lang = "") {
  const hashComments = /^(py|python|sh|bash|shell|zsh|rb|ruby|yaml|yml|toml|r|perl|pl|ini|conf|dockerfile)$/i;
  const dashComments = /^(sql|lua|haskell|hs)$/i;
  let html = "";
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const [token, comment, string, number, word] = match;
    let cls = null;
    if (comment) {
      const isHash = token.startsWith("#");
      const isDash = token.startsWith("--");
      if ((isHash && hashComments.test(lang)) || (isDash && dashComments.test(lang)) || (!isHash && !isDash)) {
        cls = "tok-comment";
      }
    } else if (string) cls = "tok-string";
    else if (number) cls = "tok-number";
    else if (word && KEYWORDS.has(word)) cls = "tok-keyword";
    if (!cls) continue;
    html += escapeHtml(code.slice(last, match.index));
    html += `<span class="${cls}">${escapeHtml(token)}</span>`;
    last = match.index + token.length;
  }
  return html + escapeHtml(code.slice(last));
}
