package snapkeep.engine;

import java.util.List;
import java.util.Map;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/** A real single-node OpenSearch 1.3 or 2.x with its HTTP (Netty4) module; the fs repository is built in. */
public final class OpenSearch extends Node {
    private OpenSearch(Environment environment, List<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Launch.run(args, (settings, secure) -> {
            if (!secure.isEmpty()) {
                throw new IllegalArgumentException("this engine line has no repository plugin taking " + secure.keySet());
            }
            Settings prepared = Settings.builder().putProperties(settings, key -> key).build();
            Environment environment = InternalSettingsPreparer.prepareEnvironment(prepared, Map.of(), null, () -> "node-0");
            Node node = new OpenSearch(environment, List.of(Netty4Plugin.class)).start();
            return () -> {
                node.close();
                node.awaitClose(30, java.util.concurrent.TimeUnit.SECONDS);
            };
        });
    }
}
