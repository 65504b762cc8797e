"""What the helpers' 8-bit products are calibrated on, and how far they smooth.

A few channels of BERT-like activations run far larger than the rest, and an 8-bit product that
quantises a request's activations with one scale per product loses the others' precision. So the
8-bit variants first move part of that range into the weights (SmoothQuant): per input channel j,
s_j = max|x_j|^SMOOTHING / max|W_j|^(1 - SMOOTHING), with the activation maxima max|x_j| measured
at load on `CALIBRATION` (short requests and tool descriptions in several languages); the product
takes x / s against W * s, the same in exact arithmetic. The MiniLM helper (minilm_onnx.py) and
the MPNet helper (mpnet_onnx.py) both do this.
"""

from __future__ import annotations

SMOOTHING = 0.7  # how much of an input channel's activation range moves into the 8-bit weights
CALIBRATION = (
    "find the latest stock price for apple",
    "Create a new GitHub issue titled 'Login page crashes on submit' in the frontend repository",
    "What's the weather going to be like in Paris tomorrow afternoon?",
    "read /etc/nginx/nginx.conf and tell me what port it listens on",
    "Search for recent papers about protein folding with diffusion models",
    "Convert 250 US dollars to euros",
    "delete the file report_old.docx from my documents folder",
    "send an email to alice@example.com saying the meeting moved to 3pm",
    "Returns the current time in the requested IANA timezone.",
    "Lists all open pull requests of a repository, with their authors and labels.",
    "Executes a shell command and returns its standard output and exit code.",
    "Gets the market capitalisation and trading volume of a listed company by ticker symbol.",
    "Navigate the browser to a URL and take a screenshot of the page.",
    "Montre-moi les dernières nouvelles sur le climat",
    "Erstelle einen Termin für Montag um 10 Uhr",
    "¿Cuál es la población de Madrid?",
    "帮我查一下明天北京到上海的高铁票",
    "東京の天気を教えて",
    "ok",
    "a b c 1 2 3 ... ??? !!! https://example.com/path?query=1&x=2",
)
