"""What a request asks to *do*, and what a tool does: action classes (a ranking and confidence signal).

Dense sentence models are weak on verbs: "save a note" and "delete a note" sit close together, and
"buy ETH" sits next to "get the ETH price". This module maps both sides to a few generic action
classes (create, read, list, search, update, delete, send, transact, schedule, run, convert, analyze,
control):

- a tool's classes come from the verbs in its name (`create_issue`, `getUserById`, `list-containers`)
  and the first word of its description ("Creates ...", "Lists ...");
- a request's classes come from its verbs in English, French, German, Spanish, Chinese and Japanese.
  Words that are also common nouns ("book", "post", "order", "text") count only at the start of a
  clause ("book me a train", "please post ..."), not in "a blog post" or "in order to".

Signals follow: the tool does what the request asks (`act_match`), something close to it
(`act_near`), or both say what they do and it differs (`act_clash`); and, below the classes, the
request's leading word, after "please", "can you" and the like, is literally a word of the tool's
name (`act_lead`: "commit what's staged" -> git_commit rather than git_diff_staged; mostly a verb,
sometimes the topic, as in "weather in Oslo" -> get_weather). Nothing here names a tool or a
server, so it holds for any catalog.
"""

from __future__ import annotations

import re

import numpy as np

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.spans import mask_values
from magictunnel.discovery.text import is_cjk, split_identifiers, stem

FEATURES = ("act_match", "act_near", "act_clash", "act_lead")
CLASSES = (
    "create",
    "read",
    "list",
    "search",
    "update",
    "delete",
    "send",
    "transact",
    "schedule",
    "run",
    "convert",
    "analyze",
    "control",
)

# English verbs, by class (stemmed when looked up); these read as verbs wherever they stand
_EN: dict[str, str] = {
    "create": "create add make insert initialize init generate compose draft",
    "read": "get read show view open display fetch retrieve describe inspect download load return",
    "list": "enumerate",
    "search": "search find lookup locate grep query",
    "update": "update edit modify rename replace append",
    "delete": "delete remove erase destroy purge unlink cancel unsubscribe uninstall deactivate",
    "send": (
        "send notify publish tweet retweet forward reply dm upload submit upvote downvote contact "
        "approve decline"
    ),
    "transact": "buy pay sell reserve transfer refund donate enroll renew gift wire mint redeem upgrade downgrade",
    "schedule": "schedule remind reschedule",
    "run": "run execute launch kill terminate restart deploy",
    "control": "unmute",
    "convert": "convert translate transform export transcode",
    "analyze": (
        "analyze analyse check compute calculate compare validate verify predict extract parse "
        "evaluate measure summarize summarise explain recommend suggest estimate diagnose audit"
    ),
}
# English words that are verbs only at the start of a clause (otherwise mostly nouns)
_EN_CLAUSE: dict[str, str] = {
    "create": "new save write build set",
    "send": "text message email mail post share ping call invite dial star like rate flag report follow",
    "transact": "book order subscribe register rent hire tip bid purchase",
    "control": "play pause queue join mute",
    "update": "change switch move patch",
    "delete": "drop",
    "list": "list",
    "convert": "turn",
    "schedule": "plan",
}
_CLAUSE_OPENERS = set(
    "please pls and then to you can could would will i me us just also let's lets quickly now".split()
)
# other languages: exact lower-case word forms (imperative, infinitive, common conjugations)
_OTHER: dict[str, str] = {
    "create": (
        "crée créer créez ajoute ajouter nouveau nouvelle erstelle erstellen lege anlegen "
        "hinzufügen füge neu neue neuen crea crear añade añadir agrega agregar nuevo nueva genera "
        "generar génère générer"
    ),
    "read": (
        "montre montrer affiche afficher ouvre ouvrir lis lire zeig zeige zeigen öffne öffnen "
        "lies lesen muestra mostrar abre abrir lee leer obtén obtener"
    ),
    "list": "liste lister auflisten lista listar enumera",
    "search": (
        "cherche chercher recherche rechercher trouve trouver suche suchen finde finden busca "
        "buscar encuentra encontrar"
    ),
    "update": (
        "modifie modifier changer remplace remplacer renomme renommer ändere ändern "
        "ersetze ersetzen umbenennen benenne cambia cambiar modifica modificar reemplaza "
        "reemplazar renombra renombrar actualiza actualizar aktualisiere aktualisieren mets "
        "mettre"
    ),
    "delete": (
        "supprime supprimer efface effacer annule annuler lösche löschen entferne entfernen "
        "storniere stornieren kündige kündigen elimina eliminar borra borrar cancela cancelar"
    ),
    "send": (
        "envoie envoyer sende senden schicke schick schicken envía envia enviar manda mandar "
        "publie publier poste poster partage partager"
    ),
    "transact": (
        "achète acheter réserve réserver commande commander paie payer kaufe kaufen buche buchen "
        "bestelle bestellen bezahle bezahlen compra comprar reserva reservar pide pedir paga "
        "pagar"
    ),
    "schedule": "planifie planifier plane planen programa programar agenda agendar",
    "run": "lance lancer exécute exécuter starte starten führe ausführen ejecuta ejecutar",
    "convert": "convertis convertir konvertiere konvertieren wandle umwandeln traduis traduce",
    "analyze": (
        "analyse analyser vérifie vérifier calcule calculer compare comparer résume résumer "
        "explique recommande analysiere analysieren prüfe prüfen berechne berechnen vergleiche "
        "vergleichen fasse zusammenfassen erkläre empfiehl analiza analizar verifica verificar "
        "calcula calcular compara comparar resume resumir explica explicar recomienda recomendar"
    ),
}
# Chinese and Japanese verbs, found as substrings
_CJK: dict[str, str] = {
    "create": "新建 创建 添加 新增 生成 建一个 作成 追加 新規 作って 生成して",
    "read": "查看 看看 打开 读取 显示 获取 查询 返回 表示 見せて 開いて 読んで 取得",
    "list": "列出 列表 一覧 リスト",
    "search": "搜索 查找 搜一下 找一下 检索 検索 探して",
    "update": "修改 更改 替换 改成 改签 重命名 更新 変更 置換 書き換え 切换 切り替え",
    "delete": "删除 删掉 移除 清空 取消 退订 削除 消して キャンセル 解約",
    "send": "发送 发给 发到 发消息 通知 打电话 打个电话 上传 点赞 关注 转发 分享 举报 送信 送って 投稿 電話 共有 転送",
    "transact": "购买 买 预订 预约 订票 下单 支付 付款 退票 挂号 充值 转账 打赏 購入 予約 注文 支払 送金",
    "schedule": "安排 提醒 日程 リマインド",
    "run": "运行 执行 启动 実行 起動",
    "convert": "转换 转成 转为 翻译 変換 翻訳",
    "analyze": "分析 检查 计算 比较 对比 总结 推荐 解析 分析して 計算 比較 要約 おすすめ",
}

# classes that are close: reading, listing, searching, analysing and converting all only work
# something out ("the coordinates of X" against a tool that converts addresses to coordinates)
_GROUP = {
    "read": 0,
    "list": 0,
    "search": 0,
    "analyze": 0,
    "convert": 0,
    "create": 1,
    "update": 1,
    "delete": 1,
}
_READ = CLASSES.index("read")
# a question with no action verb asks to look something up
_QUESTION_WORDS = set(
    "what which who whose where when how is are does do did was were has have had any qu'est quel quels quelle "
    "quelles où combien comment qui welche welcher welches wie wo wann wer gibt qué cuál "
    "cuáles dónde cuándo cuánto cuántos cómo quién hay".split()
)
_CJK_QUESTION = re.compile("什么|哪些|哪个|多少|怎么|如何|吗|嗎|？|何|どこ|いつ|どう|ですか|ますか")

CJK_LEAD = 6  # a Chinese or Japanese description's verb is within its first characters
_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?", re.UNICODE)


def _index(table: dict[str, str], stemmed: bool) -> dict[str, int]:
    out: dict[str, int] = {}
    for cls, words in table.items():
        for word in words.split():
            out.setdefault(stem(word) if stemmed else word, CLASSES.index(cls))
    return out


_EN_ANY = _index(_EN, stemmed=True)
_EN_START = _index(_EN_CLAUSE, stemmed=True)
_OTHER_ANY = _index(_OTHER, stemmed=False)
_CJK_CLASS = {w: CLASSES.index(c) for c, ws in _CJK.items() for w in ws.split()}
_CJK_PATTERN = re.compile("|".join(re.escape(w) for w in sorted(_CJK_CLASS, key=len, reverse=True)))


def request_classes(text: str) -> set[int]:
    """The action classes a request asks for (indices into CLASSES)."""
    text, _ = mask_values(text)  # words inside quotes, paths and URLs are values, not verbs
    if _asks_a_question(text):
        return {_READ}  # "what did commit X change?", "how many yen did a dollar buy?"
    found: set[int] = set()
    previous = ""
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if any(is_cjk(ch) for ch in word):
            previous = ""
            continue
        key = stem(word)
        if word.endswith(("ed", "ing")) and word != key and word not in _OTHER_ANY:
            pass  # "what changed", "about running X": a past or ongoing action, not one asked for
        elif key in _EN_ANY:
            found.add(_EN_ANY[key])
        elif word in _OTHER_ANY:
            found.add(_OTHER_ANY[word])
        elif key in _EN_START and (
            not previous or previous in _CLAUSE_OPENERS or _clause_break(text, match.start())
        ):
            found.add(_EN_START[key])
        previous = word
    for match in _CJK_PATTERN.finditer(text):
        found.add(_CJK_CLASS[match.group(0)])
    if not found and _is_question(text):
        found.add(_READ)
    return found


def _asks_a_question(text: str) -> bool:
    """Opens with a question word ("what", "how", "does", "wie", "¿qué"): its verbs describe
    what is asked about, not an action to take."""
    first = _WORD.search(text.strip().lower().lstrip("¿¡"))
    return bool(first) and first.group(0) in _QUESTION_WORDS


def _is_question(text: str) -> bool:
    """Ends with a question mark or holds a Chinese or Japanese question word (a request that
    opens with a question word never gets here: see `_asks_a_question`)."""
    stripped = text.strip()
    return stripped.endswith(("?", "？")) or bool(_CJK_QUESTION.search(stripped))


def _clause_break(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ",;:.!?(—-"


def tool_classes(doc: ToolDoc) -> set[int]:
    """The action classes a tool's name (and the first word of its description) say it performs."""
    words = _name_tokens(doc.name)
    first = _WORD.search(doc.description.lower())
    if first:
        words.append(first.group(0))
    found: set[int] = set()
    for n, word in enumerate(words):
        if (
            n < len(words) - (1 if first else 0)
            and len(word) > 3
            and word.endswith("s")
            and not word.endswith("ss")
        ):
            continue  # a plural in a name is a noun: "esports-lol-schedules", "list_tickets"
        key = stem(word)
        for table in (_EN_ANY, _EN_START):
            if key in table:
                found.add(table[key])
    for match in _CJK_PATTERN.finditer(doc.description[:CJK_LEAD]):  # "获取…", "查询…"
        found.add(_CJK_CLASS[match.group(0)])
    return found


# words that may open a request before its verb: "please", "can you", "I want to", "help me"
_LEAD_OPENERS = _CLAUSE_OPENERS | set("want wanna need like help hey hi ok okay go ahead i'd i'm".split())


def lead_word(text: str) -> str | None:
    """The request's leading word (mostly its verb) as written, stemmed ("commit what's staged" -> "commit"); None
    for a question or a request that opens with something else than a Latin-script word."""
    text, _ = mask_values(text)
    if _asks_a_question(text):
        return None
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if word in _LEAD_OPENERS:
            continue
        if any(is_cjk(ch) for ch in word) or len(word) < 3:
            return None
        return stem(word)
    return None


def name_words(doc: ToolDoc) -> set[str]:
    return {stem(w) for w in _name_tokens(doc.name) if len(w) >= 3}


def _name_tokens(name: str) -> list[str]:
    """A tool name's words in order ("getUserById" -> get, user, by, id)."""
    return split_identifiers(name).replace("_", " ").replace("-", " ").replace(".", " ").lower().split()


class IntentTable:
    """Per tool, its action classes as a 0/1 matrix, and the signals for a request."""

    def __init__(self, docs: list[ToolDoc]) -> None:
        named: dict[str, list[int]] = {}  # a stemmed word of a tool name -> the tools that have it
        for i, doc in enumerate(docs):
            for word in name_words(doc):
                named.setdefault(word, []).append(i)
        self.named = {word: np.asarray(rows, dtype=np.int64) for word, rows in named.items()}
        self.classes = np.zeros((len(docs), len(CLASSES)), dtype=np.float32)
        for i, doc in enumerate(docs):
            for c in tool_classes(doc):
                self.classes[i, c] = 1.0
        self.says = self.classes.sum(axis=1) > 0
        groups = max(_GROUP.values()) + 1
        # class -> group membership, each class outside a group being a group of its own
        self.group_of = np.zeros((len(CLASSES), groups + len(CLASSES)), dtype=np.float32)
        for c, name in enumerate(CLASSES):
            self.group_of[c, _GROUP.get(name, groups + c)] = 1.0
        self.tool_groups = (self.classes @ self.group_of) > 0

    def features(self, text: str) -> np.ndarray:
        """(n_tools, 4): the tool performs an action the request asks for; one close to it (it
        lists where the request reads); the request and the tool both name actions, far apart;
        the request's leading verb is a word of the tool's name ("commit ..." -> git_commit)."""
        lead = lead_word(text)
        asked = np.zeros(len(CLASSES), dtype=np.float32)
        for c in request_classes(text):
            asked[c] = 1.0
        out = np.zeros((len(self.classes), len(FEATURES)), dtype=np.float32)
        if lead is not None and lead in self.named:
            out[self.named[lead], 3] = 1.0
        if not asked.any():
            return out
        match = (self.classes @ asked) > 0
        near = ~match & ((self.tool_groups.astype(np.float32) @ ((asked @ self.group_of) > 0)) > 0)
        out[:, 0], out[:, 1], out[:, 2] = match, near, self.says & ~match & ~near
        return out
