"""What axe-core (vendored, tests/vendor/axe-core) and a check of WCAG 3.1.2 find in a page,
and a tour that opens pages in one language as one audience and keeps what they find."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException

from tests.test_browser import PHONE

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # 4.14.1, see its README
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' '))}));
}"""
# WCAG 3.1.2 (Language of Parts, AA), which axe does not judge: Khmer script outside an element
# marked lang="km", or English prose (three lower-case words outside quotes and brackets, which
# hold values and codes; addresses aside; proper names are capitalised and allowed) inside one
# marked, or defaulting to, Khmer.
LANGUAGE_OF_PARTS = r"""() => {
  const khmer = /[\u1780-\u17FF\u19E0-\u19FF]/u;
  const values = /«[^»]*»|“[^”]*”|"[^"]*"|\([^)]*\)|\S*[@\/]\S*|\S+\.\S+/g;  // quoted, codes, addresses
  const prose = (text) => (text.replace(values, '').match(/\b[a-z]{2,}\b/g) || []).length >= 3;
  const found = [];
  const judge = (element, text, where) => {
    const part = (element.closest('[lang]') || document.documentElement).lang;
    if ((part !== 'km' && khmer.test(text)) || (part === 'km' && prose(text))) {
      found.push(`${where} in lang="${part}": ${text.trim().slice(0, 60)}`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element.closest('script, style, code, kbd, samp')) {  // computer text (keys, passwords) is no language
      judge(element, walker.currentNode.textContent, element.tagName.toLowerCase());
    }
  }
  for (const element of document.querySelectorAll('[title], [aria-label], [alt], [placeholder]')) {
    for (const name of ['title', 'aria-label', 'alt', 'placeholder']) {
      if (element.hasAttribute(name)) judge(element, element.getAttribute(name), `${element.tagName.toLowerCase()}[${name}]`);
    }
  }
  judge(document.documentElement, document.title, 'title');
  return [document.documentElement.lang, found];
}"""


@dataclass
class Site:
    app: Flask
    base: str
    batches: list[int]
    indicator_id: int
    person: dict[str, str]  # what a registered worker types to prove who they are
    rendered: set[str] = field(default_factory=set)  # templates rendered while the module ran
    checked: set[str] = field(default_factory=set)  # endpoints axe ran on
    tours: set[str] = field(default_factory=set)


@dataclass
class Tour:
    """One browser page going round the site in one language as one audience; what axe finds is kept."""
    site: Site
    page: object
    lang: str
    audience: str
    found: list[str] = field(default_factory=list)
    every_state: bool = True  # False: the page as it opens only (a public page seen by staff)
    registered: bool = False  # a registration in the session (done, certificate)

    def url(self, path: str) -> str:
        return f"{self.site.base}{path}{'&' if '?' in path else '?'}lang={self.lang}"

    def goto(self, path: str, status: int = 200) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, f"{path}: {response and response.status}, not {status}"
        kind = response.headers.get("content-type", "")
        assert kind.startswith("text/html"), f"{path} is {kind}, no page: list it in NOT_PAGES with what it is"

    def submit(self, selector: str, status: int) -> None:
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        assert navigation.value.status == status, f"{self.page.url}: {navigation.value.status}, not {status}"

    def check(self, state: str = "") -> None:
        path, query = urlsplit(self.page.url).path, re.sub(r"&?lang=\w+", "", urlsplit(self.page.url).query)
        try:
            self.site.checked.add(self.site.app.url_map.bind("").match(path)[0])
        except HTTPException:
            pass  # the page for an address that is none
        where = f"[{self.audience}, {self.lang}] {path}{f'?{query}' if query else ''}{f' ({state})' if state else ''}"
        for v in self.page.evaluate(RUN_AXE, TAGS):
            self.found.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"]))
        document_lang, parts = self.page.evaluate(LANGUAGE_OF_PARTS)
        assert document_lang == self.lang or path.endswith("/certificate"), f"{where} is in {document_lang}"  # (in both)
        if parts:
            self.found.append(f"{where}: language-of-parts (WCAG 3.1.2): text in another language needs its lang\n      "
                              + "\n      ".join(parts))



def report(found: list[str]) -> str:
    return f"{len(found)} accessibility violations (axe-core, {', '.join(TAGS)}):\n  " + "\n  ".join(found)


def phone(browser):  # type: ignore[no-untyped-def]
    """A phone-sized browser context whose every page has axe loaded (an init script: not
    subject to the pages' CSP, and 3-4 times faster than evaluating axe in each page)."""
    context = browser.new_context(locale="km-KH", viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(path=str(AXE))
    return context

