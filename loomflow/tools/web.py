"""The ``web_fetch`` tool: fetch an http(s) URL within a size and a time limit; HTML comes back as text.

    Capability.web(max_bytes=500_000, timeout=15)

Only ``http`` and ``https`` URLs are fetched. A body larger than ``max_bytes`` is cut there (the model
is told); a fetch slower than ``timeout`` seconds, in total, is an error result. HTML is reduced to its
readable text (scripts, styles and markup dropped; block elements become line breaks).
"""

from __future__ import annotations

import html.parser
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import IO

from loomflow.tools.tool import Tool, in_worker_thread, tool

__all__ = ["html_to_text", "web_fetch_tool"]

_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "title", "nav", "main", "aside",
}  # fmt: skip
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP and self._skip:
            self._skip -= 1
        if tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML page (its title first, when it has one)."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in "".join(parser.out).splitlines())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = parser.title.strip()
    return f"{title}\n\n{body}" if title else body


class _WebRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http and https addresses only (urllib alone follows ftp too)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            return None  # not followed: urlopen raises HTTPError with the redirect's status
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_WebRedirects)


def _fetch(url: str, max_bytes: int, timeout: float, user_agent: str) -> tuple[int, Message, bytes, bool]:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "text/html,text/*,*/*"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # the first URL's scheme is checked by the caller
            body = response.read(max_bytes + 1)
            return response.status, response.headers, body[:max_bytes], len(body) > max_bytes
    except urllib.error.HTTPError as exc:  # an error status, or a redirect urllib would not follow
        return exc.code, exc.headers, exc.read(max_bytes), False


def web_fetch_tool(*, max_bytes: int = 1_000_000, timeout: float = 20.0, user_agent: str = "loomflow") -> Tool:
    """The ``web_fetch`` tool with these limits."""

    @tool(read_only=True, timeout=timeout)
    async def web_fetch(url: str) -> str:
        """Fetch a web page (http or https) and return its text; HTML is reduced to readable text.

        Args:
            url: the address to fetch
        """
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"only http and https URLs can be fetched, not {scheme or 'a relative URL'!r}")
        # The tool's own timeout is the one the model sees; the socket's, a little longer, only frees the
        # thread (equal, the two raced and a loaded machine could surface a bare socket timeout instead).
        status, headers, body, cut = await in_worker_thread(_fetch, url, max_bytes, timeout + 1.0, user_agent)
        if 300 <= status < 400:  # http(s) redirects are followed; this one leads elsewhere
            where = headers.get("Location")
            target = f"to {where!r}" if where else "without a Location header"
            raise RuntimeError(
                f"HTTP {status} from {url}: a redirect {target} that was not followed; only http and https "
                f"addresses are fetched"
            )
        charset = headers.get_content_charset() or "utf-8"  # unquotes charset="iso-8859-1"
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            text = body.decode("utf-8", errors="replace")
        media = headers.get("Content-Type", "")
        if "html" in media.lower() or (not media and text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))):
            text = html_to_text(text)
        note = f"\n[cut at {max_bytes} bytes: the page is larger]" if cut else ""
        if status >= 400:
            raise RuntimeError(f"HTTP {status} from {url}: {text[:500]}")
        return f"{text}{note}"

    return web_fetch
