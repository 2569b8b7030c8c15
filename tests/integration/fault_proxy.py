"""A fault-injecting TCP proxy between resetd and slapd (issue 20), run on its
own thread with asyncio. It forwards bytes blindly (resetd speaks TLS to slapd
through it), but reads the TLS record headers of what the client sends, so a
test can aim at "the client's k-th application-data record on a connection"
(a bind, the Password Modify, a modify — see calibrate()).

A rule applies once, to the next connection whose client sends record k (of
exactly `size` bytes when given: another connection — a sync, a role check —
may send a k-th record too, and must not take the rule):
  drop_answer     forward the request, then cut both sides at once: the server
                  got it, the client never hears back;
  delay_answer=s  forward the request; hold the server's answer s seconds;
  hold_request=s  hold the request (and what follows) s seconds, then deliver
                  it to the server even if the client has gone meanwhile;
  cut             cut both sides before the record leaves (it never arrives).
"""
import asyncio
import threading
import time

APP_DATA = 0x17


class FaultProxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self.rule = None          # (k, action, seconds, size)
        self.log = []             # per connection: list of client app-record lengths
        self.fired = []           # (time, action) when a rule fired
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self):
        return "ldaps://127.0.0.1:%d/" % self.port

    def set_rule(self, k, action, seconds=0.0, size=None):
        with self._lock:
            self.rule = (k, action, seconds, size)
            self.fired = []

    def clear(self):
        with self._lock:
            self.rule = None

    def stop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _take_rule(self, k, size):
        with self._lock:
            if self.rule and self.rule[0] == k and self.rule[3] in (None, size):
                r, self.rule = self.rule, None
                self.fired.append((time.monotonic(), r[1]))
                return r
        return None

    async def _handle(self, cr, cw):
        try:
            sr, sw = await asyncio.open_connection(*self.target)
        except OSError:
            cw.close()
            return
        records = []
        with self._lock:
            self.log.append(records)
        state = {"answer_delay": 0.0, "cut": False, "mute": False}

        def cut():
            state["cut"] = True
            for w in (cw, sw):
                try:
                    w.transport.abort()
                except Exception:
                    pass

        async def client_to_server():
            buf = b""
            held_until = 0.0
            try:
                while not state["cut"]:
                    data = await cr.read(65536)
                    if not data:
                        break
                    buf += data
                    out = b""
                    while len(buf) >= 5:
                        n = 5 + int.from_bytes(buf[3:5], "big")
                        if len(buf) < n:
                            break
                        rec, buf = buf[:n], buf[n:]
                        if rec[0] == APP_DATA:
                            records.append(n)
                            r = self._take_rule(len(records), n)
                            if r and r[1] == "cut":
                                cut()
                                return
                            if r and r[1] == "hold_request":
                                held_until = time.monotonic() + r[2]
                            if r and r[1] == "delay_answer":
                                state["answer_delay"] = r[2]
                            if r and r[1] == "drop_answer":
                                # muted before the request leaves: slapd can
                                # answer within the 50 ms before the cut
                                state["mute"] = True
                                sw.write(out + rec)
                                await sw.drain()
                                await asyncio.sleep(0.05)
                                cut()
                                return
                        out += rec
                    if held_until:
                        await asyncio.sleep(max(0.0, held_until - time.monotonic()))
                    sw.write(out)
                    await sw.drain()
                # The client is gone: what was held still reaches the server
                # (a request late in the network), then the server side ends.
                if held_until:
                    await asyncio.sleep(max(0.0, held_until - time.monotonic()))
                    if buf:
                        sw.write(buf)
                    await asyncio.sleep(1.0)
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    sw.close()
                except Exception:
                    pass

        async def server_to_client():
            try:
                while not state["cut"]:
                    data = await sr.read(65536)
                    if not data:
                        break
                    if state["mute"]:
                        continue
                    if state["answer_delay"]:
                        await asyncio.sleep(state["answer_delay"])
                        state["answer_delay"] = 0.0
                    cw.write(data)
                    await cw.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    cw.close()
                except Exception:
                    pass

        await asyncio.gather(client_to_server(), server_to_client())


def exop_record_index(proxy, do_reset):
    """Runs one reset through the proxy (no rule) and returns (k, size): the
    index of the client record carrying the Password Modify on its connection,
    and its length. With a long password it is the largest record the client
    sends (larger than the service bind, the pwdReset modify, the unbind and
    TLS's own records). TLS adds a fixed overhead per record, so a password n
    characters longer makes that record exactly n bytes longer."""
    n0 = len(proxy.log)
    do_reset()
    time.sleep(0.3)
    conns = [c for c in proxy.log[n0:] if c]
    assert conns, proxy.log
    # the reset's own connection sends the most records (bind, exop, modify,
    # unbind); a role check before it is a bind and a search
    best = max(conns, key=len)
    return best.index(max(best)) + 1, max(best)
