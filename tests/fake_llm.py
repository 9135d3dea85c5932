"""A small OpenAI-compatible chat server on localhost with scripted replies, for testing the LLM path
over real HTTP. The requested model name picks the script."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_S = 40  # the "slow" model answers only after this long (far beyond any timeout the tests set)

SCRIPTS = {
    "good": "Im Mittelpunkt der Pilotphase steht die Akzeptanz bei den Nutzenden [1]. "
    "Dafür braucht es klar definierte Erfolgskriterien [2].",
    "bad-cite": "Die Pilotphase dient der Erprobung im Realbetrieb [1]. "
    "Außerdem gibt es 99 geheime Kriterien [9]. Dieser Satz hat keinen Beleg.",
    "refuse": "Dazu enthält die Roadmap keine Aussage.",
    # question generation (`assistant add --questions`): two usable questions, one pointing at a
    # sentence that does not exist, one line that is not JSON
    "questions": '{"frage": "Wie viel Geld bekommen die Quartierslotsen jedes Jahr?", "saetze": [2]}\n'
    '{"frage": "Who advises older people on digital services?", "saetze": [1]}\n'
    '{"frage": "Erfundene Frage ohne Beleg?", "saetze": [9]}\n'
    "Hier noch ein Kommentar des Modells.",
}


class FakeLLM:
    def __init__(self):
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                model = body.get("model", "good")
                if model == "slow":
                    time.sleep(SLOW_S)
                if model == "garbage":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.write(b"data: {this is not json\n\n")
                    return
                if model == "error":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"internal error")
                    return
                text = SCRIPTS.get(model, SCRIPTS["good"])
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for word in text.split(" "):
                        chunk = {
                            "id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                            "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                reply = {
                    "id": "x", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
