"""Calls between the grader and a student's kernel that carry data only.

The grader re-checks every graded test cell in its own process, where
the student's code never runs. The student's functions stay in the
student's kernel; the grader holds a :class:`Remote` for each and calling
it sends the arguments over a socket, runs the function in the kernel and
sends the result back. Only plain data crosses: numbers, strings, numpy
arrays, torch tensors and standard ``torch.nn`` modules, and tuples,
lists and dicts of these. Anything else arrives as another
:class:`Remote`, whose comparison and truth-value operators are not
forwarded, so an object that claims to equal everything stays a foreign
object that no check accepts. Nothing is unpickled.

This module is also the code that serves the calls inside the kernel: the
grader sends its source text into the kernel, so it imports only the
standard library and numpy (torch only when a value needs it).
"""

from __future__ import annotations

import builtins
import json
import math
import socket
import struct
import sys
import time
import traceback

import numpy as np

MAX_MESSAGE = 256 * 2 ** 20      # bytes in one message
MAX_DEPTH = 64                   # nesting of containers
SCOPES = "__course_tested__"     # kernel global: functions per graded test
_ARRAY_KINDS = set("biufcSU")
_PLAIN = (type(None), bool, int, float, str)
_CONTAINERS = ((dict, "$d"), (tuple, "$t"), (list, "$l"), (set, "$set"),
               (frozenset, "$fs"))
_NOT_FORWARDED = frozenset({
    "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"})


class RemoteError(Exception):
    """An exception raised on the other side that has no local twin."""


class RemoteTimeout(RemoteError):
    """The other side did not answer in time."""


class ChannelClosed(RemoteError):
    """The other side went away (its process stopped or crashed)."""


class Remote:
    """A handle on an object that lives on the other side.

    Only calling it and reading its public attributes are forwarded.
    """

    __slots__ = ("_ep", "_handle", "_info")

    def __init__(self, ep: "Endpoint", handle: int, info: dict) -> None:
        object.__setattr__(self, "_ep", ep)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_info", info)

    def __call__(self, *args, **kwargs):
        return self._ep.request({"op": "call", "target": self._handle},
                                args=args, kwargs=kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ep.request({"op": "getattr", "target": self._handle,
                                 "name": name})

    def __repr__(self) -> str:
        return f"<{self._info.get('type', 'object')} in the student's kernel>"


def _torch():
    return sys.modules.get("torch")


# ------------------------------------------------------------ the codec

class Codec:
    """Turns values into JSON plus byte buffers and back."""

    def __init__(self, ep: "Endpoint") -> None:
        self.ep = ep

    # -- encoding
    def encode(self, value, bufs: list, memo: dict, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply")
        if isinstance(value, bool) or value is None or isinstance(
                value, str):
            return value
        if isinstance(value, int):
            return value if type(value) is int else {"$i": int(value)}
        if isinstance(value, float):
            if math.isfinite(value):
                return value if type(value) is float else {
                    "$f": repr(float(value))}
            return {"$f": repr(float(value))}
        if isinstance(value, Remote) and value._ep is self.ep:
            return {"$own": value._handle}
        key = id(value)
        if key in memo:
            return {"$ref": memo[key]}
        if isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype.kind in _ARRAY_KINDS and not arr.dtype.fields:
                bufs.append(np.ascontiguousarray(arr).tobytes())
                out = {"dtype": arr.dtype.str, "shape": list(arr.shape),
                       "buf": len(bufs) - 1}
                return {"$a" if isinstance(value, np.ndarray) else "$s":
                        out}
        torch = _torch()
        if torch is not None:
            enc = self._encode_torch(torch, value, bufs, memo, depth)
            if enc is not None:
                return enc
        tag = next((t for c, t in _CONTAINERS if isinstance(value, c)),
                   None)
        if tag is not None:
            memo[key] = len(memo)
            if tag == "$d":
                items = [[self.encode(k, bufs, memo, depth + 1),
                          self.encode(v, bufs, memo, depth + 1)]
                         for k, v in value.items()]
            else:
                items = [self.encode(v, bufs, memo, depth + 1)
                         for v in value]
            return {tag: items, "m": memo[key]}
        if type(value) is bytes:
            bufs.append(value)
            return {"$b": len(bufs) - 1}
        if isinstance(value, complex):
            return {"$c": [value.real, value.imag]}
        return {"$r": self.ep.export(value)}

    def _encode_torch(self, torch, value, bufs, memo, depth):
        if isinstance(value, torch.dtype):
            return {"$tdtype": str(value).replace("torch.", "")}
        if isinstance(value, torch.device):
            return {"$tdev": str(value)}
        if isinstance(value, torch.Tensor) and value.layout == torch.strided:
            key = id(value)
            memo[key] = len(memo)
            arr = value.detach().cpu().numpy()
            return {"$tt": {
                "a": self.encode(arr, bufs, {}, depth + 1),
                "grad": bool(value.requires_grad),
                "param": isinstance(value, torch.nn.Parameter)},
                "m": memo[key]}
        if isinstance(value, torch.nn.Module):
            cls = type(value)
            if not cls.__module__.startswith("torch.nn."):
                return None
            key = id(value)
            memo[key] = len(memo)
            state = {}
            for k, v in vars(value).items():
                if k.endswith("_hooks") or "hook" in k or k.endswith(
                        "_refs"):
                    continue
                state[k] = self.encode(v, bufs, memo, depth + 1)
            return {"$mod": {"cls": f"{cls.__module__}:{cls.__qualname__}",
                             "state": state}, "m": memo[key]}
        return None

    # -- decoding
    def decode(self, obj, bufs: list, memo: dict, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply")
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if not isinstance(obj, dict) or not obj:
            raise ValueError("malformed value")
        tag = next(iter(obj))
        body = obj[tag]
        if tag == "$i":
            return int(body)
        if tag == "$f":
            return float(body)
        if tag == "$c":
            return complex(float(body[0]), float(body[1]))
        if tag == "$ref":
            return memo[int(body)]
        if tag == "$b":
            return bytes(bufs[int(body)])
        if tag in ("$a", "$s"):
            dtype = np.dtype(str(body["dtype"]))
            if dtype.kind not in _ARRAY_KINDS or dtype.fields:
                raise ValueError(f"array of dtype {dtype} not accepted")
            shape = tuple(int(s) for s in body["shape"])
            buf = bufs[int(body["buf"])]
            if any(s < 0 for s in shape) or \
                    math.prod(shape) * dtype.itemsize != len(buf):
                raise ValueError("array size does not match its data")
            arr = np.frombuffer(bytearray(buf), dtype=dtype).reshape(shape)
            return arr if tag == "$a" else arr[()]
        if tag in ("$t", "$l", "$set", "$fs", "$d"):
            m = int(obj["m"])
            if tag == "$l":
                out = memo[m] = []
                out.extend(self.decode(v, bufs, memo, depth + 1)
                           for v in body)
                return out
            if tag == "$d":
                out = memo[m] = {}
                for k, v in body:
                    out[self.decode(k, bufs, memo, depth + 1)] = \
                        self.decode(v, bufs, memo, depth + 1)
                return out
            items = [self.decode(v, bufs, memo, depth + 1) for v in body]
            out = {"$t": tuple, "$set": set, "$fs": frozenset}[tag](items)
            memo[m] = out
            return out
        if tag == "$r":
            return Remote(self.ep, int(body["h"]), body)
        if tag == "$own":
            return self.ep.local(int(body))
        if tag in ("$tdtype", "$tdev", "$tt", "$mod"):
            return self._decode_torch(tag, obj, body, bufs, memo, depth)
        raise ValueError(f"unknown value tag {tag!r}")

    def _decode_torch(self, tag, obj, body, bufs, memo, depth):
        import torch
        if tag == "$tdtype":
            dt = getattr(torch, str(body), None)
            if not isinstance(dt, torch.dtype):
                raise ValueError(f"unknown torch dtype {body!r}")
            return dt
        if tag == "$tdev":
            return torch.device(str(body))
        if tag == "$tt":
            arr = self.decode(body["a"], bufs, {}, depth + 1)
            t = torch.from_numpy(np.array(arr))
            if body.get("param"):
                t = torch.nn.Parameter(t, requires_grad=bool(body["grad"]))
            elif body.get("grad") and t.is_floating_point():
                t.requires_grad_(True)
            memo[int(obj["m"])] = t
            return t
        module_name, _, qualname = str(body["cls"]).partition(":")
        if not module_name.startswith("torch.nn.") or "." in qualname:
            raise ValueError(f"module class {body['cls']!r} not accepted")
        __import__(module_name)
        cls = getattr(sys.modules[module_name], qualname, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise ValueError(f"{body['cls']!r} is not a torch module")
        mod = cls.__new__(cls)
        torch.nn.Module.__init__(mod)
        memo[int(obj["m"])] = mod
        for k, v in body["state"].items():
            if not isinstance(k, str) or k.startswith("__"):
                raise ValueError(f"bad attribute name {k!r}")
            mod.__dict__[k] = self.decode(v, bufs, memo, depth + 1)
        if hasattr(mod, "_init_flat_weights"):
            mod._init_flat_weights()
        return mod


# ------------------------------------------------------------ the channel

class Endpoint:
    """One side of a connection; both sides run the same code.

    ``request`` sends a message and waits for its reply, serving the other
    side's requests that arrive meanwhile (a callback into this side while
    the other side runs a function).
    """

    def __init__(self, sock: socket.socket, namespace: dict | None = None,
                 timeout: float | None = 60.0) -> None:
        self.sock = sock
        self.namespace = namespace if namespace is not None else {}
        self.timeout = timeout
        self.deadline: float | None = None
        self.codec = Codec(self)
        self.exported: dict[int, object] = {}
        self.next_id = 1
        self.closed = False

    # -- handles
    def export(self, value) -> dict:
        handle = self.next_id
        self.next_id += 1
        self.exported[handle] = value
        return {"h": handle, **describe(value)}

    def local(self, handle: int):
        try:
            return self.exported[handle]
        except KeyError:
            raise ValueError(f"unknown handle {handle}") from None

    # -- framing
    def send(self, msg: dict, args=(), kwargs=None, value=None,
             has_value=False) -> None:
        bufs: list = []
        memo: dict = {}
        if "op" in msg and msg["op"] == "call":
            msg["args"] = self.codec.encode(tuple(args), bufs, memo)
            msg["kwargs"] = self.codec.encode(dict(kwargs or {}), bufs, memo)
        if has_value:
            msg["value"] = self.codec.encode(value, bufs, memo)
        head = json.dumps(msg).encode("utf-8")
        parts = [struct.pack("!II", len(head), len(bufs)), head]
        for b in bufs:
            parts += [struct.pack("!Q", len(b)), b]
        total = sum(len(p) for p in parts)
        if total > MAX_MESSAGE:
            raise RemoteError(f"message of {total} bytes is too large")
        self.sock.sendall(b"".join(parts))

    def _recv_exact(self, n: int) -> bytearray:
        out = bytearray(n)
        view = memoryview(out)
        got = 0
        while got < n:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    self.closed = True
                    raise RemoteTimeout(
                        f"no answer within {self.timeout:g} s")
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            try:
                k = self.sock.recv_into(view[got:])
            except socket.timeout:
                self.closed = True
                raise RemoteTimeout(
                    f"no answer within {self.timeout:g} s") from None
            except OSError as exc:
                self.closed = True
                raise ChannelClosed(str(exc)) from None
            if k == 0:
                self.closed = True
                raise ChannelClosed("the other side closed the connection")
            got += k
        return out

    def recv(self) -> tuple[dict, list]:
        n_head, n_bufs = struct.unpack("!II", self._recv_exact(8))
        if n_head > MAX_MESSAGE or n_bufs > 100_000:
            raise RemoteError("malformed message")
        head = json.loads(self._recv_exact(n_head).decode("utf-8"))
        bufs, total = [], n_head
        for _ in range(n_bufs):
            (size,) = struct.unpack("!Q", self._recv_exact(8))
            total += size
            if total > MAX_MESSAGE:
                raise RemoteError("message too large")
            bufs.append(self._recv_exact(size))
        if not isinstance(head, dict):
            raise RemoteError("malformed message")
        return head, bufs

    # -- requests
    def request(self, msg: dict, args=(), kwargs=None):
        if self.closed:
            raise ChannelClosed("the connection to the kernel is closed")
        msg["id"] = rid = self.next_id
        self.next_id += 1
        outer = self.deadline
        if outer is None and self.timeout is not None:
            self.deadline = time.monotonic() + self.timeout
        try:
            self.send(msg, args, kwargs)
            while True:
                head, bufs = self.recv()
                op = head.get("op")
                if op in ("ok", "err") and head.get("id") == rid:
                    break
                if op in ("ok", "err"):
                    raise RemoteError("reply out of order")
                self.serve_one(head, bufs)
        finally:
            self.deadline = outer
        if op == "err":
            raise _rebuild_error(head)
        value = self.codec.decode(head.get("value"), bufs, {})
        for path, new in self.codec.decode(head.get("changed", None),
                                           bufs, {}) or ():
            _apply_change(args, kwargs, path, new)
        return value

    def serve_one(self, head: dict, bufs: list) -> bool:
        """Answer one request; return False when asked to stop."""
        op = head.get("op")
        if op == "bye":
            return False
        rid = head.get("id")
        changed = None
        try:
            if op == "lookup":
                name = str(head["name"])
                value = self._lookup(name, head.get("scope"))
            elif op == "getattr":
                name = str(head["name"])
                if name.startswith("__"):
                    raise AttributeError(name)
                value = getattr(self.local(int(head["target"])), name)
            elif op == "call":
                fn = self.local(int(head["target"]))
                memo: dict = {}
                args = self.codec.decode(head["args"], bufs, memo)
                kwargs = self.codec.decode(head["kwargs"], bufs, memo)
                before = [_snapshot(a) for a in args]
                value = fn(*args, **kwargs)
                changed = [(i, a) for i, (a, b) in
                           enumerate(zip(args, before)) if _differs(a, b)]
            else:
                raise ValueError(f"unknown request {op!r}")
            reply = {"op": "ok", "id": rid}
            if changed:
                bufs_c: list = []
                reply_changed = self.codec.encode(changed, bufs_c, {})
                self._send_with_extra(reply, value, reply_changed, bufs_c)
            else:
                self.send(reply, value=value, has_value=True)
        except (ChannelClosed, RemoteTimeout):
            raise
        except BaseException as exc:            # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) and \
                    op != "call":
                raise
            self.send({"op": "err", "id": rid,
                       "type": type(exc).__name__,
                       "message": _safe_str(exc)[:2000],
                       "tb": "".join(traceback.format_exception(
                           type(exc), exc, exc.__traceback__))[-4000:]})
        return True

    def _send_with_extra(self, reply, value, changed_enc, bufs_c):
        # Encode the value after the changed arguments so that buffer
        # indices of both parts refer to one list.
        bufs = list(bufs_c)
        reply["changed"] = changed_enc
        reply["value"] = self.codec.encode(value, bufs, {})
        head = json.dumps(reply).encode("utf-8")
        parts = [struct.pack("!II", len(head), len(bufs)), head]
        for b in bufs:
            parts += [struct.pack("!Q", len(b)), b]
        self.sock.sendall(b"".join(parts))

    def serve_forever(self) -> None:
        while True:
            head, bufs = self.recv()
            if not self.serve_one(head, bufs):
                return

    def _lookup(self, name: str, scope):
        """``name`` as the graded test ``scope`` saw it, else as it is.

        The kernel records, just before each graded test cell, the
        student's functions under ``__course_tested__[grade_id]``."""
        tested = self.namespace.get(SCOPES)
        seen = tested.get(scope) if isinstance(tested, dict) and \
            isinstance(scope, str) else None
        if isinstance(seen, dict) and name in seen:
            return seen[name]
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined")
        return self.namespace[name]

    def lookup(self, name: str, scope: str | None = None):
        """The kernel's ``name``, as graded test ``scope`` saw it."""
        head = {"op": "lookup", "name": name}
        if scope is not None:
            head["scope"] = scope
        return self.request(head)

    def close(self) -> None:
        if not self.closed:
            try:
                self.send({"op": "bye"})
            except OSError:
                pass
        self.closed = True
        self.sock.close()


def describe(value) -> dict:
    """Type and origin of an object, as the side holding it reports it."""
    info = {"type": type(value).__name__, "callable": callable(value)}
    mod = getattr(value, "__module__", None)
    if isinstance(mod, str):
        info["module"] = mod
    code = getattr(value, "__code__", None)
    filename = getattr(code, "co_filename", None)
    if isinstance(filename, str):
        info["file"] = filename
    if type(value).__name__ == "module":
        info["name"] = str(getattr(value, "__name__", ""))
        info["file"] = str(getattr(value, "__file__", "") or "")
    return info


def _safe_str(exc) -> str:
    try:
        return str(exc)
    except Exception:                           # noqa: BLE001
        return "<unprintable error>"


def _rebuild_error(head: dict) -> Exception:
    name = str(head.get("type", "Exception"))
    message = str(head.get("message", ""))
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and \
            name not in _NOT_FORWARDED:
        try:
            return cls(message)
        except Exception:                       # noqa: BLE001
            pass
    return RemoteError(f"{name}: {message}")


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) is dict:
        return {k: (v.copy() if isinstance(v, np.ndarray) else v)
                for k, v in value.items()}
    if type(value) is list:
        return list(value)
    return None


def _differs(value, before) -> bool:
    if before is None:
        return False
    if isinstance(value, np.ndarray):
        return not (value.shape == before.shape and np.array_equal(
            value, before, equal_nan=value.dtype.kind in "fc"))
    if type(value) is dict:
        if value.keys() != before.keys():
            return True
        return any(_differs(value[k], before[k]) if isinstance(
            value[k], np.ndarray) else value[k] is not before[k]
            for k in value)
    if type(value) is list:
        return len(value) != len(before) or any(
            a is not b for a, b in zip(value, before))
    return False


def _apply_change(args, kwargs, index, new) -> None:
    """Mirror an in-place change the other side made to an argument."""
    try:
        old = args[int(index)]
    except (IndexError, TypeError, ValueError):
        return
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and \
            old.shape == new.shape and old.flags.writeable:
        np.copyto(old, new, casting="unsafe")
    elif type(old) is dict and type(new) is dict:
        old.clear()
        old.update(new)
    elif type(old) is list and type(new) is list:
        old[:] = new


def serve(path: str, namespace: dict, timeout: float | None = None) -> None:
    """Kernel side: connect to the grader at ``path`` and answer it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    ep = Endpoint(sock, namespace, timeout=None)
    try:
        ep.serve_forever()
    except ChannelClosed:
        pass
    finally:
        sock.close()
