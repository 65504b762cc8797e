"""More Chinese and Japanese words with their English gloss, for the lexical index (see lexicon.py).

Everyday words of software, documents, data, travel, money and media, so that a Chinese or
Japanese request meets the English words tool descriptions use ("笔记" -> note, "ノート" -> note,
"思维导图" -> mind map). General vocabulary only: nothing names a tool or a server.
Each line: the word, then its English gloss.
"""

from __future__ import annotations

_TEXT = """
笔记 note
记录 record note
备忘 memo note
记忆 memory
知识 knowledge
待办 todo task
任务 task
计划 plan
步骤 step
项目 project
组件 component
界面 interface ui
页面 page
按钮 button
图标 icon
模板 template
样式 style
主题 theme
布局 layout
思维导图 mind map
导图 map
流程图 flow diagram
柱状图 bar chart
条形图 bar chart
折线图 line chart
饼图 pie chart
散点图 scatter chart
雷达图 radar chart
词云 word cloud
网络图 network graph
提交 commit submit
分支 branch
合并 merge
差异 diff
日志 log
状态 status
版本 version
依赖 dependency
包 package
库 library
漏洞 vulnerability
安全 security
容器 container
镜像 image
进程 process
命令 command
终端 terminal
脚本 script
数据库 database
服务器 server
域名 domain
浏览器 browser
截图 screenshot
点击 click
标签 tag tab
段落 paragraph
标题 title heading
页 page
行 line row
列 column
字体 font
批注 comment
脚注 footnote
文字 text
内容 content
关键词 keyword
作者 author
论文 paper
专利 patent
基因 gene
变异 variant
临床 clinical
试验 trial
药物 drug
疾病 disease
坐标 coordinates
附近 nearby
周边 nearby
导航 directions route
距离 distance
停车 parking
充电 charging
餐厅 restaurant
火车站 train station
高铁 high speed train
航线 route flight
汇总 summary
统计 statistics stats
指数 index
市值 market cap
财报 financial statements earnings
股息 dividend
分红 dividend
期权 options
基金 fund
加密货币 crypto cryptocurrency
行情 market quote
价格走势 price history
历史 history
走势 trend
趋势 trend
榜 rank
排名 ranking rank
英雄 champion hero
角色 character
装备 item equipment
技能 skill
阵容 team comp
比赛 match game
战绩 match history
选手 player
国际象棋 chess
棋 chess game
随机数 random number
密钥 key secret
时刻 time
现在 now current
今天 today
明天 tomorrow
农历 lunar calendar
阳历 solar calendar
公历 solar calendar
出生 birth
文件名 filename
压缩 compress zip
解压 extract unzip
重命名 rename
移动 move
复制 copy
网址 url
抓取 fetch scrape crawl
爬取 crawl scrape
站点地图 sitemap
图 image chart
照片 photo image
音频 audio
节拍 beat tempo
字幕 transcript subtitle
ノート note
メモ memo note
タスク task
プロジェクト project
コンポーネント component
テンプレート template
アイコン icon
チャート chart
グラフ chart graph
マインドマップ mind map
リポジトリ repository
ブランチ branch
コミット commit
ファイル file
フォルダ folder directory
ディレクトリ directory
ドキュメント document
パスワード password
スライド slide
プレゼン presentation
記事 article
株価 stock price
株 stock
為替 exchange rate
天気 weather
予報 forecast
地図 map
住所 address
経路 route
駅 station
電車 train
検索 search
一覧 list
翻訳 translate
変換 convert
画像 image
動画 video
音楽 music
曲 song
論文 paper
ニュース news
トップ top
ランキング ranking
ゲーム game
カード card
レシピ recipe
料理 cooking dish
時間 time
日付 date
構成 structure
説明 describe explain
要約 summary summarize
保護 protect
"""

CJK_GLOSSES: dict[str, str] = {
    word: gloss for word, _, gloss in (line.partition(" ") for line in _TEXT.strip().splitlines())
}
