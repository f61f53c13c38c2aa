package snapkeep.engine;

import java.util.List;
import java.util.Map;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;

/** A real single-node Elasticsearch 7.x with its HTTP (Netty4) module; the fs repository is built in. */
public final class Elasticsearch extends Node {
    private Elasticsearch(Environment environment, List<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Launch.run(args, (settings, secure) -> {
            if (!secure.isEmpty()) {
                throw new IllegalArgumentException("this engine line has no repository plugin taking " + secure.keySet());
            }
            Settings prepared = Settings.builder().putProperties(settings, key -> key).build();
            Environment environment = InternalSettingsPreparer.prepareEnvironment(prepared, Map.of(), null, () -> "node-0");
            Node node = new Elasticsearch(environment, List.of(Netty4Plugin.class)).start();
            return () -> {
                node.close();
                node.awaitClose(30, java.util.concurrent.TimeUnit.SECONDS);
            };
        });
    }
}
