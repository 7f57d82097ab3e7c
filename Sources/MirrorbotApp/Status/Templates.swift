import Mustache

/// The status site's Mustache templates and stylesheet, kept in the binary (no resource bundle to ship).
///
/// Rule: every value is written with `{{name}}`, which escapes `< > & " '` for HTML. The only triple braces are
/// `{{{...SVG}}}`: charts that ``SVGChart`` makes from numbers. `StatusPagesTests` checks both.
public enum StatusTemplates {
    /// The stylesheet served at `/status/style.css` (a file of its own: the pages' `Content-Security-Policy`
    /// allows no inline style).
    public static let stylesheet = """
        :root { --bad: #c62828; --bad-bg: #fdecea; --warn: #b26a00; --warn-bg: #fff4de; --ok: #2e7d32; \
        --line: #ddd; --muted: #666; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; \
        background: #fafafa; }
        header.top { display: flex; gap: 1.5em; align-items: baseline; padding: .6em 1.2em; background: #263238; }
        header.top a { color: #eceff1; text-decoration: none; }
        header.top .brand { font-weight: 700; }
        header.top nav a { margin-right: 1em; }
        main { padding: .5em 1.2em 2em; max-width: 1400px; }
        h1 { font-size: 1.4em; margin: .6em 0 .3em; overflow-wrap: anywhere; }
        h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
        p.node, p.legend, p.meta { margin: .3em 0; }
        p.legend, footer, .muted { color: var(--muted); }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { padding: .3em .45em; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
        th { background: #eceff1; font-weight: 600; }
        th a { color: #222; }
        th a.active { text-decoration: none; border-bottom: 2px solid #222; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.url, td.reason, code { overflow-wrap: anywhere; }
        td.mirror { overflow-wrap: break-word; }
        code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; }
        tr.bad td { background: var(--bad-bg); }
        tr.bad td:first-child { border-left: 4px solid var(--bad); }
        tr.warn td { background: var(--warn-bg); }
        tr.warn td:first-child { border-left: 4px solid var(--warn); }
        tr.ok td:first-child { border-left: 4px solid var(--ok); }
        td.hot { color: var(--bad); font-weight: 700; }
        td.warm { color: var(--warn); font-weight: 700; }
        .badge { display: inline-block; min-width: 3.2em; padding: 0 .4em; border-radius: 3px; color: #fff; \
        text-align: center; font-size: .85em; }
        .badge.bad { background: var(--bad); }
        .badge.warn { background: var(--warn); }
        .badge.ok { background: var(--ok); }
        .v-verified { color: var(--ok); font-weight: 600; }
        .v-mismatch { color: var(--bad); font-weight: 600; }
        .v-missing, .v-error { color: var(--warn); font-weight: 600; }
        .v-unconfirmed { color: var(--muted); font-weight: 600; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; background: #fff; \
        padding: .6em; border: 1px solid var(--line); }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        .pager { margin: .6em 0; }
        .pager a, .pager span { margin-right: 1em; }
        svg.spark { display: block; }
        svg.chart { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid var(--line); }
        .c-verified { fill: #43a047; }
        .c-unconfirmed { fill: #b0bec5; }
        .c-missing { fill: #ffb300; }
        .c-error { fill: #fb8c00; }
        .c-mismatch { fill: #e53935; }
        .key { display: inline-block; width: .9em; height: .9em; vertical-align: -1px; margin: 0 .2em 0 .8em; }
        .key.c-verified { background: #43a047; }
        .key.c-unconfirmed { background: #b0bec5; }
        .key.c-missing { background: #ffb300; }
        .key.c-error { background: #fb8c00; }
        .key.c-mismatch { background: #e53935; }
        .key.speed { background: #222; height: 3px; vertical-align: 3px; }
        footer { padding: 1em 1.2em; border-top: 1px solid var(--line); }

        """

    /// The page head and navigation; rendered with a ``ChromeView``.
    static let head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{title}} · mirrorbot status</title>
        <link rel="stylesheet" href="{{styleHref}}">
        <link rel="alternate" type="application/json" href="{{jsonHref}}">
        </head>
        <body>
        <header class="top"><a class="brand" href="{{overviewHref}}">mirrorbot status</a>
        <nav><a href="{{overviewHref}}">Mirrors</a> <a href="{{peersHref}}">Peers</a> <a href="{{jsonHref}}">JSON</a></nav>
        </header>
        <main>

        """

    /// The page foot; rendered with a ``ChromeView``.
    static let foot = """
        </main>
        <footer>Generated <time datetime="{{generatedISO}}">{{generatedText}}</time> by mirrorbot {{version}}. \
        Every verdict comes from downloading and hashing what the mirror served.</footer>
        </body>
        </html>

        """

    /// A link to an outside URL when it is http(s), else the text; rendered with a ``LinkView``.
    static let link = """
        {{#isLink}}<a href="{{href}}" rel="nofollow noopener noreferrer">{{text}}</a>{{/isLink}}\
        {{^isLink}}<span class="nolink">{{text}}</span>{{/isLink}}
        """

    /// A column header that orders the overview; rendered with a ``SortLinkView``.
    static let sortLink = """
        {{#linked}}<a href="{{href}}"{{#active}} class="active" aria-current="true"{{/active}}>{{label}}</a>{{/linked}}\
        {{^linked}}{{label}}{{/linked}}
        """

    /// A time: relative to the page's generation, the exact UTC time as tooltip; rendered with a ``TimeView``.
    static let time = """
        <time datetime="{{iso}}" title="{{utc}}">{{ago}}</time>
        """

    /// Previous and next pages; rendered with a ``PagerView``.
    static let pager = """
        {{#shown}}<p class="pager">{{#hasPrevious}}<a href="{{previousHref}}" rel="prev">← previous</a>{{/hasPrevious}}\
        <span>{{summary}}</span>{{#hasNext}}<a href="{{nextHref}}" rel="next">next →</a>{{/hasNext}}</p>{{/shown}}
        """

    /// One mirror row's cells after the mirror and feed; rendered with a ``MirrorRowView``.
    static let mirrorCells = """
        <td class="num">{{verified}} of {{checked}}{{#hasListed}}<br><span class="muted">{{listed}} listed</span>{{/hasListed}}</td>
        <td class="num{{#hasMismatch}} hot{{/hasMismatch}}">{{mismatch}}</td>
        <td class="num{{#hasMissing}} warm{{/hasMissing}}">{{missing}}</td>
        <td class="num{{#hasErrors}} warm{{/hasErrors}}">{{errors}}</td>
        <td class="num">{{lag}}</td>
        <td class="num">{{speed}}</td>
        <td class="num">{{#lastCheck}}{{>time}}{{/lastCheck}}{{^lastCheck}}never{{/lastCheck}}</td>
        <td class="num">{{score}}</td>
        <td class="{{rangeClass}}" title="{{rangeTitle}}">{{range}}</td>
        """

    /// `/status`; rendered with an ``OverviewView``.
    static let overview = """
        {{#chrome}}{{>head}}{{/chrome}}
        <h1>Mirror status</h1>
        {{#node}}<p class="node">{{#hasID}}Node <code>{{id}}</code> offers{{/hasID}}{{^hasID}}The node offers{{/hasID}} \
        <strong class="files-offered">{{files}}</strong> files from verified links, \
        <strong class="records-cached">{{records}}</strong> records of other providers cached, \
        <strong class="peers-connected">{{peers}}</strong> peers connected.
        Last crawl: {{#crawlStarted}}started {{>time}}{{/crawlStarted}}{{#crawlFinished}}, finished {{>time}}{{/crawlFinished}}\
        {{#crawlRunning}}, still running{{/crawlRunning}}{{^crawlStarted}}none yet{{/crawlStarted}}.</p>{{/node}}
        <p class="legend"><span class="badge bad">bad</span> serves wrong bytes or fewer than half of its files \
        <span class="badge warn">warn</span> missing files, errors, no Range or lagging \
        <span class="badge ok">ok</span> · {{orderText}}</p>
        <table class="mirrors">
        <thead><tr>
        <th>{{#sorts.worst}}{{>sortlink}}{{/sorts.worst}}</th>
        <th>{{#sorts.mirror}}{{>sortlink}}{{/sorts.mirror}}</th>
        <th>{{#sorts.feed}}{{>sortlink}}{{/sorts.feed}}</th>
        <th class="num">{{#sorts.verified}}{{>sortlink}}{{/sorts.verified}}</th>
        <th class="num">Mismatch</th>
        <th class="num">Missing</th>
        <th class="num">Errors</th>
        <th class="num">Lag</th>
        <th class="num">{{#sorts.speed}}{{>sortlink}}{{/sorts.speed}}</th>
        <th class="num">{{#sorts.lastCheck}}{{>sortlink}}{{/sorts.lastCheck}}</th>
        <th class="num">{{#sorts.score}}{{>sortlink}}{{/sorts.score}}</th>
        <th>Range</th>
        <th>Verified per day</th>
        </tr></thead>
        <tbody>
        {{#rows}}
        <tr class="{{severity}}" data-mirror="{{mirror}}" data-feed="{{feed}}">
        <td><span class="badge {{severity}}">{{severity}}</span></td>
        <td class="mirror"><a href="{{mirrorHref}}">{{mirror}}</a></td>
        <td>{{feed}}</td>
        {{>mirrorCells}}
        <td>{{{trendSVG}}}</td>
        </tr>
        {{/rows}}
        {{^rows}}<tr><td colspan="13" class="muted">No mirror checked yet.</td></tr>{{/rows}}
        </tbody>
        </table>
        {{#pager}}{{>pager}}{{/pager}}
        {{#chrome}}{{>foot}}{{/chrome}}
        """

    /// `/status/mirror?m=KEY`; rendered with a ``MirrorView``.
    static let mirror = """
        {{#chrome}}{{>head}}{{/chrome}}
        <h1>Mirror <span class="mirror-key">{{mirror}}</span></h1>
        <p class="meta">Range requests: <span class="{{rangeClass}}">{{range}}</span>\
        {{#hasRangeReason}} <span class="reason">({{rangeReason}})</span>{{/hasRangeReason}}</p>
        <table class="mirror-rows">
        <thead><tr><th>Feed</th><th class="num">Verified</th><th class="num">Mismatch</th><th class="num">Missing</th>\
        <th class="num">Errors</th><th class="num">Lag</th><th class="num">Median speed</th><th class="num">Last check</th>\
        <th class="num">Score</th><th>Range</th></tr></thead>
        <tbody>
        {{#rows}}
        <tr class="{{severity}}" data-feed="{{feed}}">
        <td>{{feed}}</td>
        {{>mirrorCells}}
        </tr>
        {{/rows}}
        {{^rows}}<tr><td colspan="10" class="muted">No checks.</td></tr>{{/rows}}
        </tbody>
        </table>
        <h2>History</h2>
        <p class="legend">Checks a day by verdict, and the median download speed (line).\
        <span class="key c-verified"></span>verified<span class="key c-unconfirmed"></span>unconfirmed\
        <span class="key c-missing"></span>missing<span class="key c-error"></span>error\
        <span class="key c-mismatch"></span>mismatch<span class="key speed"></span>speed \
        {{#hasHistory}}({{historyRange}}){{/hasHistory}}</p>
        {{{historySVG}}}
        <h2>Current problems</h2>
        <table class="problems">
        <thead><tr><th>Verdict</th><th>File</th><th>Feed</th><th>Reason</th><th class="num">HTTP</th><th>URL</th>\
        <th class="num">Checked</th></tr></thead>
        <tbody>
        {{#problems}}
        <tr class="problem" data-verdict="{{verdict}}">
        <td class="v-{{verdict}}">{{verdict}}</td>
        <td><a href="{{fileHref}}">{{file}}</a></td>
        <td>{{feed}}</td>
        <td class="reason">{{reason}}</td>
        <td class="num">{{httpStatus}}</td>
        <td class="url">{{#url}}{{>link}}{{/url}}</td>
        <td class="num">{{#checkedTime}}{{>time}}{{/checkedTime}}</td>
        </tr>
        {{/problems}}
        {{^problems}}<tr><td colspan="7" class="muted">None: every file checked on this mirror is verified.</td></tr>\
        {{/problems}}
        </tbody>
        </table>
        {{#pager}}{{>pager}}{{/pager}}
        {{#chrome}}{{>foot}}{{/chrome}}
        """

    /// `/status/file?feed=F&name=N`; rendered with a ``FileView``.
    static let file = """
        {{#chrome}}{{>head}}{{/chrome}}
        <h1>File <span class="file-name">{{name}}</span></h1>
        <dl class="facts">
        <dt>Feed</dt><dd>{{feed}}</dd>
        <dt>Size</dt><dd>{{size}}</dd>
        <dt>Blob id</dt><dd><code class="blob-id">{{blobID}}</code></dd>
        <dt>BLAKE3</dt><dd><code class="hash">{{blake3}}</code></dd>
        <dt>SHA-256</dt><dd><code class="hash">{{sha256}}</code></dd>
        <dt>Download</dt><dd>{{#hasMetalink}}<a href="{{metalinkHref}}" type="application/metalink4+xml">Metalink \
        of the {{verifiedCount}} verified mirrors</a> (aria2c -M FILE){{/hasMetalink}}\
        {{^hasMetalink}}no mirror serves the right bytes yet{{/hasMetalink}}</dd>
        </dl>
        <h2>Expected hashes</h2>
        <table class="expected">
        <thead><tr><th>Algorithm</th><th>Hash</th><th>From</th><th>Source</th></tr></thead>
        <tbody>
        {{#expected}}<tr><td>{{algorithm}}</td><td><code class="hash">{{hex}}</code></td><td>{{strength}}</td>\
        <td>{{source}}</td></tr>
        {{/expected}}
        {{^expected}}<tr><td colspan="4" class="muted">None known: no checksum from the feed and no agreement of \
        mirrors yet.</td></tr>{{/expected}}
        </tbody>
        </table>
        <h2>Mirrors serving the right bytes ({{verifiedCount}})</h2>
        <table class="serving">
        <thead><tr><th>Mirror</th><th>URL</th><th class="num">Checked</th><th class="num">Verified</th></tr></thead>
        <tbody>
        {{#good}}<tr class="ok" data-mirror="{{mirror}}"><td><a href="{{mirrorHref}}">{{mirror}}</a></td>\
        <td class="url">{{#url}}{{>link}}{{/url}}</td><td class="num">{{#checkedTime}}{{>time}}{{/checkedTime}}</td>\
        <td class="num">{{#verifiedTime}}{{>time}}{{/verifiedTime}}</td></tr>
        {{/good}}
        {{^good}}<tr><td colspan="4" class="muted">None.</td></tr>{{/good}}
        </tbody>
        </table>
        <h2>Mirrors not serving them ({{badCount}})</h2>
        <table class="not-serving">
        <thead><tr><th>Mirror</th><th>Verdict</th><th>Reason</th><th class="num">HTTP</th><th>URL</th>\
        <th class="num">Checked</th></tr></thead>
        <tbody>
        {{#bad}}<tr class="{{severity}}" data-mirror="{{mirror}}" data-verdict="{{verdict}}">\
        <td><a href="{{mirrorHref}}">{{mirror}}</a></td><td class="v-{{verdict}}">{{verdict}}</td>\
        <td class="reason">{{reason}}</td><td class="num">{{httpStatus}}</td><td class="url">{{#url}}{{>link}}{{/url}}</td>\
        <td class="num">{{#checkedTime}}{{>time}}{{/checkedTime}}</td></tr>
        {{/bad}}
        {{^bad}}<tr><td colspan="6" class="muted">None.</td></tr>{{/bad}}
        </tbody>
        </table>
        {{#chrome}}{{>foot}}{{/chrome}}
        """

    /// `/status/peers`; rendered with a ``PeersView``.
    static let peers = """
        {{#chrome}}{{>head}}{{/chrome}}
        <h1>Peers</h1>
        {{#node}}<p class="node">{{#hasID}}Node <code>{{id}}</code>: {{/hasID}}\
        <strong class="peers-connected">{{peers}}</strong> peers connected, \
        <strong class="records-cached">{{records}}</strong> records of other providers cached.</p>{{/node}}
        <p class="meta">Queries received <strong class="queries-received">{{queriesReceived}}</strong>, \
        answered <strong class="queries-answered">{{queriesAnswered}}</strong>.</p>
        {{#hasConnected}}<h2>Connected now</h2><ul class="connected">{{#connected}}<li><code>{{.}}</code></li>{{/connected}}</ul>\
        {{/hasConnected}}
        <h2>Score book</h2>
        <p class="legend">Votes from checking the links peers sign: a good vote when the bytes match, a bad one when not.</p>
        <table class="scores">
        <thead><tr><th>Node</th><th class="num">Good</th><th class="num">Bad</th><th class="num">Score</th>\
        <th class="num">Last seen</th></tr></thead>
        <tbody>
        {{#peerRows}}<tr class="{{severity}}" data-node="{{nodeID}}"><td><code>{{nodeID}}</code></td>\
        <td class="num">{{good}}</td><td class="num{{#hasBad}} hot{{/hasBad}}">{{bad}}</td><td class="num">{{score}}</td>\
        <td class="num">{{#lastSeen}}{{>time}}{{/lastSeen}}{{^lastSeen}}never{{/lastSeen}}</td></tr>
        {{/peerRows}}
        {{^peerRows}}<tr><td colspan="5" class="muted">No votes yet.</td></tr>{{/peerRows}}
        </tbody>
        </table>
        {{#pager}}{{>pager}}{{/pager}}
        <h2>Latest checks of peers' links</h2>
        <table class="checks">
        <thead><tr><th>Node</th><th>Hash</th><th>URL</th><th>Outcome</th><th class="num">Bytes</th><th>Vote</th>\
        <th class="num">Checked</th></tr></thead>
        <tbody>
        {{#checks}}<tr class="{{severity}}" data-node="{{nodeID}}"><td><code>{{nodeID}}</code></td>\
        <td><code class="hash">{{multihash}}</code></td><td class="url">{{#url}}{{>link}}{{/url}}</td>\
        <td>{{outcome}}</td><td class="num">{{bytes}}</td><td>{{vote}}</td>\
        <td class="num">{{#checked}}{{>time}}{{/checked}}</td></tr>
        {{/checks}}
        {{^checks}}<tr><td colspan="7" class="muted">No checks yet.</td></tr>{{/checks}}
        </tbody>
        </table>
        {{#chrome}}{{>foot}}{{/chrome}}
        """

    /// Every template by name, for partials (`{{>head}}`).
    static let all: [String: String] = [
        "head": head, "foot": foot, "link": link, "sortlink": sortLink, "time": time, "pager": pager,
        "mirrorCells": mirrorCells, "overview": overview, "mirror": mirror, "file": file, "peers": peers,
    ]

    /// The parsed templates.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            do { try library.register(text, named: name) } catch {
                // The templates are constants of this file; StatusPagesTests parses each one.
                preconditionFailure("status template \(name) does not parse: \(error)")
            }
        }
        return library
    }()
}
