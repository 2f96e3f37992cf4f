package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A netns of the test's own ({@code c-…}), an echo server started in it as a PID-namespace
 * init and session leader (as a cell's service is), and line clients. Everything is torn down
 * by PID and by name on close.
 */
final class CriuTestBed implements AutoCloseable {
    static final int PORT = 7007;

    private static final String SERVER = String.join("\n",
            "import socket",
            "s = socket.socket()",
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
            "s.bind(('127.0.0.1', " + PORT + "))",
            "s.listen(4)",
            "while True:",
            "    c, _ = s.accept()",
            "    while True:",
            "        d = c.recv(4096)",
            "        if not d:",
            "            break",
            "        c.sendall(d)",
            "    c.close()",
            "");
    /** Connects (retrying while the server starts), then echoes stdin lines through the server. */
    private static final String CLIENT = String.join("\n",
            "import socket, sys, time",
            "for i in range(100):",
            "    try:",
            "        s = socket.create_connection(('127.0.0.1', " + PORT + "), timeout=10)",
            "        break",
            "    except OSError:",
            "        time.sleep(0.05)",
            "else:",
            "    print('ERR no connection', flush=True); sys.exit(1)",
            "print('READY %d' % s.getsockname()[1], flush=True)",
            "for line in sys.stdin:",
            "    data = line.encode()",
            "    try:",
            "        s.sendall(data)",
            "        got = b''",
            "        while len(got) < len(data):",
            "            chunk = s.recv(4096)",
            "            if not chunk:",
            "                raise OSError('connection closed by server')",
            "            got += chunk",
            "        print('ECHO ' + got.decode().strip(), flush=True)",
            "    except OSError as e:",
            "        print('ERR ' + repr(e), flush=True); sys.exit(1)",
            "");

    final String netns = "c-" + UUID.randomUUID().toString().substring(0, 8);
    final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<Long> extraPids = new ArrayList<>();

    CriuTestBed() throws Exception {
        dir = Files.createTempDirectory("svcmove-criu-it-");
        Files.writeString(dir.resolve("server.py"), SERVER);
        Files.writeString(dir.resolve("client.py"), CLIENT);
        run("ip", "netns", "add", netns);
        run("ip", "-n", netns, "link", "set", "lo", "up");
    }

    static Path criuBinary() {
        String home = System.getenv("SVCMOVE_HOME");
        Path p = (home != null ? Path.of(home) : Path.of("..")).resolve("native/build/criu-bin");
        if (!Files.isExecutable(p)) {
            fail("CRIU not built at " + p + ": run native/setup");
        }
        return p;
    }

    Path netnsFile() {
        return Path.of("/run/netns", netns);
    }

    /**
     * Starts the echo server as init of a new PID namespace and its own session, in the test netns,
     * and returns that init's PID (the tree root CRIU dumps).
     */
    long startServer() throws Exception {
        Process p = new ProcessBuilder("nsenter", "--net=" + netnsFile(), "unshare", "--pid", "--fork",
                "setsid", "/usr/bin/python3", dir.resolve("server.py").toString())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        processes.add(p);
        Path children = Path.of("/proc", Long.toString(p.pid()), "task", Long.toString(p.pid()), "children");
        for (int i = 0; i < 200; i++) {
            String c = Files.exists(children) ? Files.readString(children).strip() : "";
            if (!c.isEmpty()) {
                long root = Long.parseLong(c.split(" ")[0]);
                extraPids.add(root);
                return root;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("unshare (pid " + p.pid() + ") started no PID-namespace init within 2 s");
    }

    /** A server process this test has to kill at the end (e.g. the restored root). */
    void own(long pid) {
        extraPids.add(pid);
    }

    Client client() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nsenter", "--net=" + netnsFile(), "/usr/bin/python3", "-u",
                dir.resolve("client.py").toString())
                .redirectErrorStream(true)
                .start();
        processes.add(p);
        return new Client(p);
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    /** Every step runs even if an earlier one fails, so no process, netns or file outlives the test. */
    @Override
    public void close() throws Exception {
        try {
            for (long pid : extraPids) {
                // SIGKILL also ends a stopped (frozen) tree; the server is its PID namespace's init.
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            for (Process p : processes) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } finally {
            try {
                run("ip", "netns", "delete", netns);
            } finally {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.delete(f);
                    }
                }
                Files.delete(dir);
            }
        }
    }

    /** A line client of the echo server; its output lines are read on a thread of their own. */
    static final class Client implements AutoCloseable {
        private final Process process;
        private final Writer in;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final int localPort;

        Client(Process process) throws IOException, InterruptedException {
            this.process = process;
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // the client was killed at teardown
                }
                lines.add("EOF");
            }, "criu-it-client");
            reader.setDaemon(true);
            reader.start();
            String ready = next();
            if (!ready.startsWith("READY ")) {
                throw new AssertionError("client did not connect: " + ready);
            }
            localPort = Integer.parseInt(ready.substring(6));
        }

        /** Sends one line and asserts the server echoes it on the same connection. */
        void assertEcho(String text) throws Exception {
            in.write(text + "\n");
            in.flush();
            assertEquals("ECHO " + text, next(), "echo of '" + text + "' on the connection from port " + localPort);
        }

        private String next() throws InterruptedException {
            String l = lines.poll(15, TimeUnit.SECONDS);
            assertNotNull(l, "no line from the client within 15 s");
            return l;
        }

        boolean alive() {
            return process.isAlive();
        }

        /** Ends the client the polite way: EOF on stdin, so it closes its connection with a FIN. */
        @Override
        public void close() throws IOException, InterruptedException {
            in.close();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                throw new AssertionError("client did not exit on EOF");
            }
        }
    }
}
