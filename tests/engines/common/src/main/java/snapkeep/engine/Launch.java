package snapkeep.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What every engine launcher shares: the command line, the node's fixed test settings, and the
 * lifecycle (start, then block until SIGTERM closes the node).
 *
 * <p>Command line: {@code --home DIR --port PORT [--setting key=value ...] [--keystore-file FILE]}
 * (a file of {@code key=value} lines). {@code DIR} becomes
 * {@code path.home}; {@code path.data} and {@code path.logs} default to folders under it. Settings
 * given later win, so any default below can be overridden.
 */
public final class Launch {
    /** A started engine node. */
    public interface Node {
        /** Stops the node and waits until it has released its files and ports. */
        void close() throws Exception;
    }

    /** Builds and starts a node from its flat settings; {@code secure} are keystore entries. */
    public interface Starter {
        Node start(Map<String, String> settings, Map<String, String> secure) throws Exception;
    }

    /** Settings ending in these are keystore (secure) settings in every engine: never plain settings. */
    private static final String[] SECURE_SUFFIXES = {".access_key", ".secret_key", ".session_token"};

    private Launch() {}

    /** Parses {@code args}, starts the node, and blocks until the JVM is told to stop. */
    public static void run(String[] args, Starter starter) throws Exception {
        // Netty's processor count is set once per JVM; with a second Netty user (the S3 client)
        // the engine's own call would fail, as the engines' test clusters also avoid.
        System.setProperty("opensearch.set.netty.runtime.available.processors", "false");
        System.setProperty("es.set.netty.runtime.available.processors", "false");
        Map<String, String> settings = new LinkedHashMap<>();
        Map<String, String> secure = new LinkedHashMap<>();
        Path home = parse(args, settings, secure);
        Map<String, String> all = defaults(home);
        all.putAll(settings);
        // The distributions pass their config folder as a system property, and plugins read it
        // (repository-s3 points the AWS SDK's profile files there).
        Path config = Files.createDirectories(home.resolve("config"));
        System.setProperty("opensearch.path.conf", config.toString());
        System.setProperty("es.path.conf", config.toString());
        Files.createDirectories(Path.of(all.get("path.data")));
        Files.createDirectories(Path.of(all.get("path.logs")));
        // The hook is in place before the node starts, so no SIGTERM after the start is missed
        // (one during the start ends the JVM with nothing to close); main then waits, as the
        // engines' own bootstrap does, because the node's threads are daemons.
        AtomicReference<Node> node = new AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Node started = node.get();
                if (started != null) {
                    started.close();
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.set(starter.start(all, secure));
        System.out.println("snapkeep-engine: started on 127.0.0.1:" + all.get("http.port"));
        stopped.await();
    }

    /** Reads the command line into {@code settings} and {@code secure}; returns the home folder. */
    private static Path parse(String[] args, Map<String, String> settings, Map<String, String> secure) {
        Path home = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--home" -> home = Path.of(required("--home", value)).toAbsolutePath();
                case "--port" -> settings.put("http.port", required("--port", value));
                case "--setting" -> put(required("--setting", value), settings, secure);
                case "--keystore-file" -> readKeystore(Path.of(required("--keystore-file", value)), settings, secure);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
            i++;
        }
        if (home == null || !settings.containsKey("http.port")) {
            throw new IllegalArgumentException("usage: --home DIR --port PORT [--setting key=value ...]");
        }
        return home;
    }

    /** Reads {@code key=value} lines (keystore entries kept off the command line). */
    private static void readKeystore(Path file, Map<String, String> settings, Map<String, String> secure) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    put(line, settings, secure);
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String required(String flag, String value) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return value;
    }

    private static void put(String pair, Map<String, String> settings, Map<String, String> secure) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--setting takes key=value, not " + pair);
        }
        String key = pair.substring(0, eq);
        boolean isSecure = false;
        for (String suffix : SECURE_SUFFIXES) {
            isSecure |= key.endsWith(suffix);
        }
        (isSecure ? secure : settings).put(key, pair.substring(eq + 1));
    }

    /**
     * One loopback node that forms its own cluster. The disk threshold is off so a full build
     * disk cannot turn the test indices read-only; the transport port is any free one.
     */
    private static Map<String, String> defaults(Path home) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("cluster.name", "snapkeep-test");
        d.put("node.name", "node-0");
        d.put("path.home", home.toString());
        d.put("path.data", home.resolve("data").toString());
        d.put("path.logs", home.resolve("logs").toString());
        d.put("network.host", "127.0.0.1");
        d.put("transport.port", "0");
        d.put("discovery.type", "single-node");
        d.put("transport.type", "netty4");
        d.put("http.type", "netty4");
        d.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        return d;
    }
}
