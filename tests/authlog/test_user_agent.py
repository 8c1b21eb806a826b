"""Browser, operating system and device type read from real User-Agent headers."""

import pytest

from authlog.user_agent import BOT, DESKTOP, MOBILE, OTHER, TABLET, summarise_user_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
EDGE_WINDOWS = CHROME_WINDOWS + " Edg/124.0.2478.51"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
# Chrome's reduced user agent: the model is "K", only "Mobile" tells phone from tablet.
ANDROID_PHONE_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET_REDUCED = ANDROID_PHONE_REDUCED.replace("Mobile Safari", "Safari")
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID_PHONE = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
KINDLE = (
    "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/124.2.1 like Chrome/124.0.6367.82 Safari/537.36"
)
# A phone whose maker's name contains "bot".
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TV = (
    "Mozilla/5.0 (Linux; Android 9; SHIELD Android TV Build/PPR1.180610.011) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


@pytest.mark.parametrize(
    ("user_agent", "browser", "os"),
    [
        (CHROME_WINDOWS, "Chrome 124", "Windows 10"),
        (CHROME_LINUX, "Chrome 124", "Linux"),
        (FIREFOX_WINDOWS, "Firefox 125", "Windows 10"),
        (FIREFOX_UBUNTU, "Firefox 125", "Ubuntu"),
        (SAFARI_MAC, "Safari 17.4", "Mac OS X 10.15"),
        (EDGE_WINDOWS, "Edge 124", "Windows 10"),
    ],
)
def test_desktop_browsers_are_desktop_with_browser_and_os(user_agent, browser, os):
    summary = summarise_user_agent(user_agent)
    assert (summary.browser, summary.os, summary.device) == (browser, os, DESKTOP)


@pytest.mark.parametrize(
    ("user_agent", "os"),
    [
        (IPHONE, "iOS 17.4"),
        (ANDROID_PHONE, "Android 14"),
        (ANDROID_PHONE_REDUCED, "Android 10"),
        (FIREFOX_ANDROID_PHONE, "Android 14"),
        (CUBOT_PHONE, "Android 11"),
    ],
)
def test_phones_are_mobile(user_agent, os):
    summary = summarise_user_agent(user_agent)
    assert (summary.os, summary.device) == (os, MOBILE)


@pytest.mark.parametrize(
    "user_agent",
    [IPAD, ANDROID_TABLET, ANDROID_TABLET_REDUCED, FIREFOX_ANDROID_TABLET, KINDLE],
)
def test_tablets_are_tablet(user_agent):
    assert summarise_user_agent(user_agent).device == TABLET


@pytest.mark.parametrize(
    ("user_agent", "browser"),
    [
        (GOOGLEBOT, "Googlebot 2.1"),
        (GOOGLEBOT_SMARTPHONE, "Googlebot 2.1"),
        (BINGBOT, "bingbot 2"),
        ("curl/8.5.0", "curl 8.5"),
        ("Wget/1.21.4", "Wget 1.21"),
        ("python-requests/2.31.0", "Python Requests 2.31"),
        ("Go-http-client/1.1", "Go-http-client 1.1"),
    ],
)
def test_crawlers_and_scripts_are_bots(user_agent, browser):
    summary = summarise_user_agent(user_agent)
    assert (summary.browser, summary.device) == (browser, BOT)


@pytest.mark.parametrize(
    "user_agent",
    [
        CHROME_WINDOWS + " robotics-company",
        CHROME_LINUX + " automobile",
    ],
)
def test_bot_and_mobile_inside_other_words_change_nothing(user_agent):
    assert summarise_user_agent(user_agent).device == DESKTOP


@pytest.mark.parametrize("user_agent", [ANDROID_TV, "asdf", "Mozilla/5.0"])
def test_televisions_and_unknown_agents_are_other(user_agent):
    assert summarise_user_agent(user_agent).device == OTHER


def test_unknown_agent_has_no_browser_or_os():
    summary = summarise_user_agent("asdf")
    assert (summary.browser, summary.os) == (None, None)


@pytest.mark.parametrize("user_agent", [None, ""])
def test_missing_user_agent_is_all_none(user_agent):
    summary = summarise_user_agent(user_agent)
    assert (summary.browser, summary.os, summary.device) == (None, None, None)


def test_the_same_user_agent_returns_the_cached_summary():
    first = summarise_user_agent(FIREFOX_WINDOWS)
    assert summarise_user_agent(FIREFOX_WINDOWS) is first


def test_a_repeated_user_agent_is_a_cache_hit():
    summarise_user_agent(SAFARI_MAC)
    hits = summarise_user_agent.cache_info().hits
    summarise_user_agent(SAFARI_MAC)
    assert summarise_user_agent.cache_info().hits == hits + 1
