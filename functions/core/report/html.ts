/** Escapes text for HTML element content and attribute values: every export string goes through here. */
export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/**
 * A self-contained page: no script, no request to anywhere. The Content-Security-Policy forbids every
 * fetch (images only as data: URLs), so even a string that escaped escaping could load nothing.
 */
export function htmlPage(title: string, style: string, body: string, language = 'en'): string {
  return `<!doctype html>
<html lang="${escapeHtml(language)}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A table from rows of already-escaped cells. */
export const htmlTable = (head: readonly string[], rows: readonly (readonly string[])[], className = '') =>
  `<table${className ? ` class="${className}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

/** Base styles shared by the receipt and the report. */
export const BASE_STYLE = `body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.45rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}th{background:#f3f5f8}
.num{text-align:right;font-variant-numeric:tabular-nums}.migrated{color:#1a7f37}.dropped{color:#8a5300}.quarantined{color:#b42318}
code{font-size:.9em;white-space:nowrap}code.id{white-space:normal;overflow-wrap:anywhere}.muted{color:#5c6470}`;
