"""The original Flask chat room that Hearth grew from, rebuilt for the
benchmark from its description: Flask, Redis pub/sub on channel `chat`,
`/login` (form field `user` into the session), `/post` (form field `message`,
publishes `[HH:MM:SS] user: message`, answers 204), `/stream` (one Redis
`pubsub.listen()` per subscriber, each message sent as `data: ...\\n\\n`).

Faithful on purpose, shortcomings included: no room, no history, no
reconnection support, and a subscriber's Redis connection is only released
when a write to its closed socket fails. The only changes are the ones the
benchmark needs: the Redis address comes from REDIS_URL, the secret key is
fixed, strings are decoded (Python 3 redis-py returns bytes), the Redis
connection pool is unbounded as it was then, and the home page's script uses
no CDN.

Serve it as the benchmark does (bench/peers/flask/run.sh):
    gunicorn -k gevent -w 1 --worker-connections 20000 -b 127.0.0.1:8989 app:app
"""

import datetime
import os

import flask
import redis

app = flask.Flask(__name__)
app.secret_key = "hearth-bench-fixed-secret"
# The original's redis-py had an unbounded connection pool; redis-py 8 caps it
# (100), which the one-connection-per-stream design needs lifted.
red = redis.Redis.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    decode_responses=True,
    max_connections=2**31,
)


def event_stream():
    pubsub = red.pubsub()
    pubsub.subscribe("chat")
    for message in pubsub.listen():
        yield "data: %s\n\n" % message["data"]


@app.route("/login", methods=["GET", "POST"])
def login():
    if flask.request.method == "POST":
        flask.session["user"] = flask.request.form["user"]
        return flask.redirect("/")
    return '<form action="" method="post">user: <input name="user">'


@app.route("/post", methods=["POST"])
def post():
    message = flask.request.form["message"]
    user = flask.session.get("user", "anonymous")
    now = datetime.datetime.now().replace(microsecond=0).time()
    red.publish("chat", "[%s] %s: %s" % (now.isoformat(), user, message))
    return flask.Response(status=204)


@app.route("/stream")
def stream():
    return flask.Response(event_stream(), mimetype="text/event-stream")


@app.route("/")
def home():
    if "user" not in flask.session:
        return flask.redirect("/login")
    return """<!doctype html>
<title>chat</title>
<p><b>hi, %s!</b></p>
<p>Message: <input id="in"></p>
<pre id="out"></pre>
<script>
var out = document.getElementById('out');
new EventSource('/stream').onmessage = function (e) {
    out.textContent = e.data + '\\n' + out.textContent;
};
document.getElementById('in').onkeyup = function (e) {
    if (e.keyCode == 13) {
        fetch('/post', {method: 'POST', body: new URLSearchParams({message: this.value})});
        this.value = '';
    }
};
</script>
""" % flask.session["user"]


if __name__ == "__main__":
    app.debug = True
    app.run(port=8989, threaded=True)
