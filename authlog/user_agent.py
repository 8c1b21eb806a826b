"""Summarise a User-Agent header as browser, operating system and device type.

Pure apart from ua-parser's rule set. Parsing runs uap-core's few hundred
regular expressions (about a millisecond per header), so results are kept in
a per-process LRU cache; a fleet sees few distinct user agents. Known limit:
Client Hints (Sec-CH-UA) are not read, and Chrome's reduced user agent hides
exact OS versions, so versions are shown as major.minor at best.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser

DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"

_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 9", "sm-t")
# Televisions and set-top boxes say "Android" without "Mobile", like tablets.
_TV_HINTS = ("android tv", "googletv", "smart-tv", "smarttv", "crkey", "appletv", "bravia")
# "bot" must end a word ("Googlebot/2.1", "bingbot;", "/bot.html") so that the
# phone maker CUBOT and words like "robotics" do not make a person a bot;
# scripted HTTP clients name themselves first, as `tool/version`.
_BOT_WORDS = re.compile(
    r"(?:bot|crawler|spider|slurp)(?![a-z0-9 ])"
    r"|^(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp"
    r"|httpie|libwww-perl|java|apache-httpclient|node-fetch|axios|scrapy)/",
    re.IGNORECASE,
)
_MOBILE_WORD = re.compile(r"\bmobile\b", re.IGNORECASE)
_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}


@dataclass(frozen=True)
class UserAgentSummary:
    """What a person wants to read about a user agent."""

    browser: str | None
    os: str | None
    device: str | None


_UNKNOWN = UserAgentSummary(browser=None, os=None, device=None)


def _version(major: str | None, minor: str | None) -> str:
    if not major:
        return ""
    return f" {major}.{minor}" if minor and minor != "0" else f" {major}"


def _device_type(user_agent: str, os_family: str | None, device_family: str | None) -> str:
    lowered = user_agent.lower()
    if device_family == "Spider" or _BOT_WORDS.search(user_agent):
        return BOT
    if any(hint in lowered for hint in _TV_HINTS):
        return OTHER
    mobile_word = bool(_MOBILE_WORD.search(user_agent))
    if any(hint in lowered for hint in _TABLET_HINTS) or (
        os_family == "Android" and not mobile_word
    ):
        return TABLET
    if os_family in _MOBILE_OS or mobile_word:
        return MOBILE
    if os_family in {None, "Other"}:
        return OTHER
    return DESKTOP


@lru_cache(maxsize=4096)
def summarise_user_agent(user_agent: str | None) -> UserAgentSummary:
    """Return the browser, OS and device type of a cleaned user-agent string."""
    if not user_agent:
        return _UNKNOWN
    result = ua_parser.parse(user_agent)
    agent, os_info, device = result.user_agent, result.os, result.device
    browser = None
    if agent and agent.family != "Other":
        browser = agent.family + _version(agent.major, agent.minor)
    os_name = None
    if os_info and os_info.family != "Other":
        os_name = os_info.family + _version(os_info.major, os_info.minor)
    return UserAgentSummary(
        browser=browser,
        os=os_name,
        device=_device_type(
            user_agent,
            os_info.family if os_info else None,
            device.family if device else None,
        ),
    )
