//! The panel's layout in the real window, at the window's minimum size
//! (720×480), at 800×600 and at 1280×800, in light and in dark: no text
//! container's content overflows its box (unless it is cut on purpose, with
//! an ellipsis), no placeholder is clipped, nothing reaches past the
//! window's edge, no two controls overlap, and a toast never covers a
//! control. Each state is saved as a screenshot under
//! `target/debug/screenshots/layout-*.png` for a reviewer.

use patchbay_testkit::{routes, Canned, Draft, Server};
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;
use serde_json::Value;

const SIZES: [(i64, i64); 3] = [(720, 480), (800, 600), (1280, 800)];
const THEMES: [&str; 2] = ["light", "dark"];

const MODELS: &str = r#"{"object":"list","data":[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model"},{"id":"qwen2.5-coder:32b-instruct-q4_K_M","object":"model"}]}"#;

/// The checks, in the page: a list of problems, empty when the layout holds.
const CHECK: &str = r#"
const problems = [];
const name = (el) => {
  const id = el.id ? `#${el.id}` : '';
  const testid = el.dataset?.testid ? `[data-testid=${el.dataset.testid}]` : '';
  const text = (el.innerText || el.value || el.placeholder || '').trim().slice(0, 40);
  return `${el.tagName.toLowerCase()}${id}${testid} "${text}"`;
};
const shown = (el) => {
  if (el.closest('[hidden], .visually-hidden')) return false;
  for (let node = el; node instanceof Element; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.display === 'none' || style.visibility === 'hidden' || parseFloat(style.opacity) === 0) return false;
  }
  const rect = el.getBoundingClientRect();
  return rect.width > 0 && rect.height > 0;
};
const intersect = (a, b) => {
  const r = { left: Math.max(a.left, b.left), top: Math.max(a.top, b.top), right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) };
  return r.right - r.left > 1 && r.bottom - r.top > 1 ? r : null;
};
const footer = [...document.querySelectorAll('.form-footer')].find(shown)?.getBoundingClientRect();
/** What of `el` can be seen: clipped by every scrolling ancestor and the window, and by the sticky footer it scrolls under. */
const seen = (el) => {
  let rect = el.getBoundingClientRect();
  rect = { left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom };
  for (let node = el.parentElement; node && rect; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.overflowX !== 'visible' || style.overflowY !== 'visible') rect = intersect(rect, node.getBoundingClientRect());
  }
  rect = rect && intersect(rect, { left: 0, top: 0, right: innerWidth, bottom: innerHeight });
  if (rect && footer && !el.closest('.form-footer') && el.closest('.detail')) {
    if (rect.top >= footer.top) return null;
    rect = { ...rect, bottom: Math.min(rect.bottom, footer.top) };
  }
  return rect;
};

if (document.scrollingElement.scrollHeight > innerHeight + 1) {
  const tall = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().bottom > innerHeight + 1 && !el.closest('.detail, .provider-nav, .model-picker-list, dialog'));
  problems.push(`the page is ${document.scrollingElement.scrollHeight}px tall in a ${innerHeight}px window: ${tall.slice(0, 3).map(name).join(', ')}`);
}
if (document.scrollingElement.scrollWidth > innerWidth + 1) problems.push(`the page is ${document.scrollingElement.scrollWidth}px wide in a ${innerWidth}px window`);

for (const scroller of document.querySelectorAll('.detail, .provider-nav, .sidebar, .main-pane, .model-picker-list')) {
  if (!shown(scroller) || scroller.scrollWidth <= scroller.clientWidth + 1) continue;
  const edge = scroller.getBoundingClientRect().left + scroller.clientWidth;
  const wide = [...scroller.querySelectorAll('*')].filter((el) => shown(el) && el.getBoundingClientRect().right > edge + 1 && ![...el.children].some((child) => shown(child) && child.getBoundingClientRect().right > edge + 1));
  problems.push(`${name(scroller)} scrolls sideways (${scroller.scrollWidth}px in ${scroller.clientWidth}px): ${wide.slice(0, 3).map(name).join(', ')}`);
}

const texts = document.querySelectorAll('p, h1, h2, h3, label, button, dd, dt, li, legend, summary, th, td, .badge, .toast, .stage-detail, .stage-hint, .request-line, .card-title, .provider-name, .provider-meta, .switch-text');
for (const el of texts) {
  if (!shown(el)) continue;
  const style = getComputedStyle(el);
  if (style.display === 'inline' || style.display === 'contents') continue;
  if (style.textOverflow === 'ellipsis' || style.webkitLineClamp !== 'none' && style.webkitLineClamp !== '') continue;
  if (style.overflowX === 'auto' || style.overflowX === 'scroll') continue;
  if (el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} overflows its box by ${el.scrollWidth - el.clientWidth}px`);
}

// URLs wrap only after a path separator: no piece between two <wbr> spans two lines (unless it alone is wider than the line).
for (const url of document.querySelectorAll('.url')) {
  if (!shown(url)) continue;
  for (const piece of url.childNodes) {
    if (piece.nodeType !== Node.TEXT_NODE || piece.textContent.length < 2) continue;
    const range = document.createRange();
    range.selectNodeContents(piece);
    const rects = [...range.getClientRects()];
    const lines = new Set(rects.map((rect) => Math.round(rect.top)));
    const width = rects.reduce((sum, rect) => sum + rect.width, 0);
    if (lines.size > 1 && width < url.parentElement.clientWidth) problems.push(`the URL ${url.textContent} breaks inside "${piece.textContent}"`);
  }
}

const canvas = document.createElement('canvas').getContext('2d');
const controls = [...document.querySelectorAll('button, input:not([type=hidden]), select, textarea, summary, a[href]')].filter(shown);
for (const el of controls) {
  const rect = el.getBoundingClientRect();
  if (seen(el) && (rect.right > innerWidth + 1 || rect.left < -1)) problems.push(`${name(el)} reaches past the window's edge (${Math.round(rect.left)}–${Math.round(rect.right)} of ${innerWidth})`);
  if (el.placeholder && !el.value) {
    const style = getComputedStyle(el);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const needed = canvas.measureText(el.placeholder).width;
    if (needed > room + 1) problems.push(`${name(el)}: its placeholder is clipped (${Math.round(needed)}px in ${Math.round(room)}px)`);
  }
}
const visibleControls = controls.map((el) => [el, seen(el)]).filter(([, rect]) => rect);
for (let i = 0; i < visibleControls.length; i += 1) {
  for (let j = i + 1; j < visibleControls.length; j += 1) {
    const [a, ra] = visibleControls[i];
    const [b, rb] = visibleControls[j];
    if (a.contains(b) || b.contains(a)) continue;
    if (intersect(ra, rb)) problems.push(`${name(a)} and ${name(b)} overlap`);
  }
}
for (const toast of document.querySelectorAll('.toast')) {
  if (!shown(toast)) continue;
  const rect = toast.getBoundingClientRect();
  for (const [el, seenRect] of visibleControls) {
    if (intersect(rect, seenRect)) problems.push(`the toast "${toast.innerText.slice(0, 40)}" covers ${name(el)}`);
  }
}
return problems;
"#;

fn set_theme(session: &AppSession, theme: &str) {
    session.script(&format!(
        "const select = document.getElementById('theme-choice'); select.value = '{theme}'; select.dispatchEvent(new Event('change'));"
    ));
    session.wait_until(&format!("the {theme} theme"), || {
        (session.script("return getComputedStyle(document.documentElement).colorScheme;") == theme)
            .then_some(())
    });
}

fn resize(session: &AppSession, width: i64, height: i64) {
    session
        .driver
        .set_window_size(width, height)
        .unwrap_or_else(|error| session.fail(&format!("could not resize the window: {error}")));
    session.wait_until(&format!("a {width}×{height} window"), || {
        let (_, _, w, h) = session.driver.window_rect().ok()?;
        (w == width && h == height).then_some(())
    });
}

/// A toast to check against the controls: the enabled switch, flipped twice.
fn raise_toast(session: &AppSession) {
    session.click(".detail-actions .switch");
    session.wait_until("the toast", || {
        (session.script("return document.querySelectorAll('.toast').length;") != 0).then_some(())
    });
}

/// Runs the checks at every size and theme in the state the window is in.
fn check_everywhere(session: &AppSession, state: &str, before_check: &dyn Fn(&AppSession)) {
    let mut failures = Vec::new();
    for (width, height) in SIZES {
        resize(session, width, height);
        for theme in THEMES {
            set_theme(session, theme);
            before_check(session);
            // Two frames, so the layout has settled after the resize.
            session.script("return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));");
            let problems = session.script(CHECK);
            let shot =
                session.keep_screenshot(&format!("layout-{state}-{width}x{height}-{theme}.png"));
            for problem in problems
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                failures.push(format!(
                    "{state} at {width}×{height}, {theme} ({}): {problem}",
                    shot.display()
                ));
            }
        }
    }
    if !failures.is_empty() {
        session.fail(&format!("layout problems:\n{}", failures.join("\n")));
    }
}

#[test]
fn nothing_overflows_overlaps_or_is_covered_at_small_and_large_sizes_in_both_themes() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Company gateway for the research team (staging)")
                .local(&server.at("/v1"))
                .models(&[
                    "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                    "qwen2.5-coder:32b-instruct-q4_K_M",
                ])
                .header("CF-Access-Client-Id", "research-staging.access", false),
            Draft::new("OpenRouter")
                .key("sk-or-v1-layout-0123456789")
                .models(&["google/gemini-2.5-flash"]),
        ],
    );
    let session = AppSession::start_in(dir);
    let config = session.config_json();
    let id = config["providers"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    session.select_provider(&id);

    // The details, with a test report and its offers, and a toast.
    session.start_test("#test-connection");
    session.wait_until("the test report", || {
        session
            .text("#test-summary")
            .starts_with("Connected")
            .then_some(())
    });
    check_everywhere(&session, "details", &raise_toast);

    // The form, after a failed save (errors beside fields), with a test report.
    session.click("#edit-provider");
    session.wait_visible("#provider-form");
    session.start_test("#form-test");
    session.wait_until("the form's test report", || {
        session
            .text("#form-test-summary")
            .starts_with("Connected")
            .then_some(())
    });
    session.type_into("#field-label", " ");
    session.click("#save-provider");
    session.wait_visible("#error-label");
    check_everywhere(&session, "form", &|_| {});

    // Connected apps (the edited form is left with "Discard").
    session.click("#open-hosts");
    session.wait_visible("#confirm-dialog");
    session.click("#confirm-ok");
    session.wait_visible("#hosts-view");
    check_everywhere(&session, "connected-apps", &|_| {});
}
