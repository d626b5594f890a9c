"""A throwaway Valkey cluster for demos and benchmarks: primaries on free loopback ports, slots
split evenly, joined with CLUSTER MEET, stopped by PID. No dependencies beyond Python."""
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(port, *args):
    """Sends one command and returns the first line of the reply (enough for setup commands)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        parts = [str(a).encode() for a in args]
        sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        reply = sock.makefile("rb").readline()
        if reply.startswith(b"$"):
            length = int(reply[1:])
            return sock.makefile("rb").read(length + 2)[:-2].decode() if length >= 0 else ""
        return reply[1:].strip().decode()


def bulk(port, *args):
    """Sends one command whose reply is a bulk string, and returns it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        parts = [str(a).encode() for a in args]
        sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        stream = sock.makefile("rb")
        header = stream.readline()
        if not header.startswith((b"$", b"=")):
            return header.decode()
        return stream.read(int(header[1:]) + 2)[:-2].decode()


class Cluster:
    """`primaries` valkey-server nodes in cluster mode, every slot served, each with `replicas`
    replicas in sync; `extra` arguments go to every node."""

    def __init__(self, binary, primaries=3, replicas=0, extra=()):
        self.nodes = []
        for _ in range(primaries * (1 + replicas)):
            port, bus = free_port(), free_port()
            directory = tempfile.mkdtemp(prefix="glide-cluster-")
            process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--cluster-enabled", "yes", "--cluster-port", str(bus),
                 "--cluster-config-file", "nodes.conf", "--logfile", os.path.join(directory, "server.log"), *extra])
            self.nodes.append((process, port, bus, directory))
        try:
            self._assemble(primaries)
            self._replicate(primaries)
        except BaseException:
            self.stop()
            raise

    def _replicate(self, primaries):
        """Makes the nodes after the primaries their replicas, in turn, and waits until each is in sync."""
        replicas = self.nodes[primaries:]
        if not replicas:
            return
        for _ in range(400):
            if all(len(bulk(port, "CLUSTER", "NODES").strip().splitlines()) == len(self.nodes) for _, port, _, _ in self.nodes):
                break
            time.sleep(0.05)
        for index, (_, port, _, _) in enumerate(replicas):
            primary_port = self.nodes[index % primaries][1]
            command(port, "CLUSTER", "REPLICATE", bulk(primary_port, "CLUSTER", "MYID"))
        for _ in range(400):
            if all("master_link_status:up" in bulk(port, "INFO", "replication") for _, port, _, _ in replicas):
                return
            time.sleep(0.05)
        sys.exit("the replicas did not sync")

    def primary(self, index):
        """The process and client port of primary `index`."""
        process, port, _, _ = self.nodes[index]
        return process, port

    @property
    def port(self):
        return self.nodes[0][1]

    def _assemble(self, primaries):
        for _, port, _, _ in self.nodes:
            for _ in range(200):
                try:
                    if command(port, "PING") == "PONG":
                        break
                except OSError:
                    time.sleep(0.05)
        for index, (_, port, _, _) in enumerate(self.nodes[:primaries]):
            command(port, "CLUSTER", "ADDSLOTSRANGE", 16384 * index // primaries, 16384 * (index + 1) // primaries - 1)
        for _, port, bus, _ in self.nodes[1:]:
            command(self.port, "CLUSTER", "MEET", "127.0.0.1", port, bus)
        for _ in range(400):
            if all("cluster_state:ok" in bulk(port, "CLUSTER", "INFO") for _, port, _, _ in self.nodes):
                return
            time.sleep(0.05)
        sys.exit("the cluster did not reach cluster_state:ok")

    def stop(self):
        for process, _, _, _ in self.nodes:
            if process.poll() is None:
                process.terminate()
        for process, _, _, directory in self.nodes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            subprocess.run(["rm", "-rf", directory])
