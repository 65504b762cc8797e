"""General-language knowledge for the lexical index: stop words, synonym groups, Chinese glosses.

Nothing here names a particular tool or server: these are ordinary English near-synonyms
for the verbs and nouns tool descriptions use, and common Chinese words with their English
gloss, so that "find" meets "search" and "天气" meets "weather".
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from magictunnel.discovery.glossary import CJK_GLOSSES

STOP_WORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto about as is are was
    were be been being am do does did doing have has had having i me my mine we us our you your he she
    it its they them their this that these those there here what which who whom whose when where why
    how can could would should will shall may might must please pls just some any all also so very
    too than not no yes up down out over again let lets like want need would""".split()
)

# Groups of interchangeable words. A query word pulls in the others of its groups at a reduced weight.
SYNONYM_GROUPS: list[str] = [
    # actions
    "search find look lookup query seek discover locate hunt",
    "get fetch retrieve obtain pull grab read load download",
    "list show display enumerate browse view",
    "create make new generate build add produce compose start",
    "delete remove erase drop destroy purge clear wipe",
    "update edit modify change alter set patch flip replace tweak",
    "write save store put record persist",
    "remember memorize memory note recall knowledge",
    "convert transform turn translate export format transcode",
    "run execute launch start spin invoke",
    "stop kill terminate halt end abort cancel",
    "merge combine join concatenate stitch concat",
    "split splitter divide separate extract chunk",
    "move rename relocate mv",
    "copy duplicate clone",
    "compare comparison versus vs difference diff",
    "calculate compute math arithmetic evaluate sum percent",
    "summary summarize summarise overview tldr gist",
    "outline structure headings toc organised organized",
    "check verify validate test exists valid",
    "analyze analyse analysis inspect examine",
    "recommend suggest advice best",
    "open navigate goto visit",
    "click press tap",
    "type fill enter input",
    "draw paint sketch canvas",
    "protect lock password encrypt secure",
    "unprotect unlock decrypt",
    "track tracking monitor watch follow",
    "schedule plan planning steps roadmap",
    "shuffle randomize random dice roll pick",
    "count number how many total",
    # things
    "image picture photo screenshot png jpg jpeg",
    "icon icons glyph",
    "chart graph plot visualize visualise diagram",
    "map location place geocode address coordinates latitude longitude lat lng lon long",
    "route directions navigate travel trip drive commute",
    "stock share ticker equity",
    "price cost quote value worth trading",
    "money currency exchange forex rate",
    "crypto cryptocurrency bitcoin btc ethereum eth coin token",
    "news headline stories story article trending hot",
    "recipe cook cooking dish food meal eat",
    "presentation slide slides ppt powerpoint pptx deck",
    "document docx word",
    "spreadsheet excel xlsx sheet workbook cell tab",
    "table grid tabular rows columns",
    "paper papers publication preprint arxiv research study studies",
    "music song songs audio track mp3",
    "tempo bpm beat beats rhythm",
    "video videos youtube clip",
    "transcript subtitle subtitles captions",
    "package library module dependency npm",
    "repo repository github git",
    "commit staged stage",
    "file files",
    "directory folder",
    "web internet online website site webpage page url link",
    "html markup source",
    "email mail inbox",
    "time clock timezone hour",
    "date day calendar",
    "weather forecast temperature rain umbrella sunny snow",
    "size large big disk space bytes",
    "weight heavy bundle",
    "game games player match",
    "train railway rail ticket",
    "flight airline plane",
    "hotel lodging stay accommodation airbnb",
    "user profile account",
    "comment comments reply",
    "console log logs output",
    "process terminal command shell",
    "container docker",
    "deprecated abandoned unmaintained obsolete supported",
    "alternative alternatives instead replacement substitute",
    "trial trials clinical recruiting",
    "gene genes variant mutation",
    "company business corporate",
    "income revenue earnings financial financials profit",
    "dividend dividends payout",
    "insider executives execs",
    "option options puts calls strike expiry",
    "card cards",
    "whois domain registrar dns registered",
    "sitemap sitemaps",
    "component components ui",
    "chess board",
    "task tasks todo",
    "think thinking reason reasoning",
    "meeting meet midpoint middle",
    "footnote endnote citation cite reference",
    "transition transitions fade animation",
    "museum artwork art painting",
    "dataset datasets data open government",
    "permission permissions allowed access",
    "tree hierarchy structure nested hierarchical",
    "history historical past previous timeline",
    "latest newest recent current",
    "info information details detail metadata properties",
    "status state progress",
    "version versions release releases",
    "vulnerability vulnerabilities security cve advisory",
]

# Common Chinese words and their English gloss (general vocabulary).
ZH_TO_EN: dict[str, str] = {
    "搜索": "search",
    "查询": "search query",
    "查找": "find search",
    "检索": "search retrieve",
    "获取": "get fetch",
    "列表": "list",
    "列出": "list",
    "显示": "show display",
    "创建": "create",
    "新建": "create",
    "生成": "generate create",
    "删除": "delete",
    "修改": "update edit",
    "更新": "update",
    "保存": "save",
    "写入": "write",
    "读取": "read",
    "打开": "open",
    "天气": "weather",
    "预报": "forecast",
    "温度": "temperature",
    "时间": "time",
    "日期": "date",
    "时区": "timezone",
    "股票": "stock",
    "股价": "stock price",
    "价格": "price",
    "汇率": "exchange rate",
    "货币": "currency",
    "新闻": "news",
    "资讯": "news",
    "热搜": "trending hot",
    "热榜": "trending hot",
    "热门": "trending hot popular",
    "排行": "rank ranking",
    "榜单": "rank list",
    "菜谱": "recipe",
    "食谱": "recipe",
    "做法": "recipe cook",
    "怎么做": "recipe how",
    "菜": "dish food",
    "吃": "eat food",
    "饭": "meal food",
    "膳食": "meal",
    "推荐": "recommend",
    "火车": "train",
    "车票": "train ticket",
    "余票": "ticket",
    "车站": "station",
    "列车": "train",
    "机票": "flight ticket",
    "航班": "flight",
    "酒店": "hotel",
    "地图": "map",
    "地址": "address",
    "位置": "location",
    "路线": "route",
    "翻译": "translate",
    "图片": "image picture",
    "图像": "image",
    "文件": "file",
    "目录": "directory folder",
    "文件夹": "folder directory",
    "网页": "webpage page",
    "网站": "website",
    "链接": "link url",
    "文档": "document",
    "表格": "table spreadsheet",
    "图表": "chart",
    "演示": "presentation",
    "幻灯片": "slide presentation",
    "论文": "paper",
    "音乐": "music",
    "歌曲": "song music",
    "视频": "video",
    "游戏": "game",
    "卡牌": "card",
    "卡片": "card",
    "效果": "effect",
    "计算": "calculate",
    "随机": "random",
    "用户": "user",
    "评论": "comment",
    "文章": "article",
    "书": "book",
    "电影": "movie",
    "代码": "code",
    "仓库": "repository",
    "邮件": "email",
    "密码": "password",
    "八字": "bazi",
    "命理": "fortune",
    "微博": "weibo",
    "知乎": "zhihu",
    "抖音": "douyin",
    "必应": "bing",
    "百度": "baidu",
    "维基": "wikipedia",
    "博物馆": "museum",
    "艺术": "art",
    "加密": "encrypt",
    "比特币": "bitcoin",
    "币": "coin",
    "总结": "summary summarize",
    "摘要": "summary",
    "分析": "analyze analysis",
    "下载": "download",
    "上传": "upload",
    "转换": "convert",
    "格式": "format",
}
for _word, _gloss in CJK_GLOSSES.items():  # more everyday words (glossary.py)
    ZH_TO_EN.setdefault(_word, _gloss)


@lru_cache(maxsize=1)
def digest() -> str:
    """A hash of this general-language knowledge: persisted lexical indexes built with other
    word lists are rebuilt (lexical.signature)."""
    text = json.dumps([sorted(STOP_WORDS), SYNONYM_GROUPS, sorted(ZH_TO_EN.items())], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _concept_index() -> dict[str, tuple[str, ...]]:
    from magictunnel.discovery.text import stem

    index: dict[str, set[str]] = {}
    for group in SYNONYM_GROUPS:
        members = {stem(w) for w in group.split()}
        for member in members:
            index.setdefault(member, set()).update(members - {member})
    return {k: tuple(sorted(v)) for k, v in index.items()}


def expand_concepts(terms: list[str], weight: float = 0.35) -> dict[str, float]:
    """Related terms for already-stemmed query terms, each at `weight` (max over sources)."""
    index = _concept_index()
    out: dict[str, float] = {}
    for term in terms:
        for other in index.get(term, ()):
            out[other] = max(out.get(other, 0.0), weight)
    return out
