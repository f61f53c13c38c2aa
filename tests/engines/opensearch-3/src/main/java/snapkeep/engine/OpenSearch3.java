package snapkeep.engine;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.common.settings.SecureSettings;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.settings.SecureString;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.PluginInfo;
import org.opensearch.repositories.s3.S3RepositoryPlugin;
import org.opensearch.transport.Netty4ModulePlugin;

/**
 * A real single-node OpenSearch 3.x (Java 21 or later) with its HTTP (Netty4) module and the
 * {@code repository-s3} plugin; S3 credentials ({@code s3.client.NAME.access_key}, {@code
 * secret_key}) are keystore entries, as that plugin reads them.
 */
public final class OpenSearch3 extends Node {
    private OpenSearch3(Environment environment, List<PluginInfo> plugins) {
        super(environment, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Launch.run(args, (settings, secure) -> {
            Settings prepared = Settings.builder()
                .putProperties(settings, key -> key)
                .setSecureSettings(new Keystore(secure))
                .build();
            Environment environment = InternalSettingsPreparer.prepareEnvironment(prepared, Map.of(), null, () -> "node-0");
            List<PluginInfo> plugins = List.of(plugin(Netty4ModulePlugin.class), plugin(S3RepositoryPlugin.class));
            Node node = new OpenSearch3(environment, plugins).start();
            return () -> {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            };
        });
    }

    private static PluginInfo plugin(Class<?> type) {
        return new PluginInfo(type.getName(), "classpath plugin", "NA", Version.CURRENT, "21", type.getName(),
            null, Collections.emptyList(), false);
    }

    /** An in-memory keystore holding the launcher's secure settings. */
    private record Keystore(Map<String, String> entries) implements SecureSettings {
        @Override
        public boolean isLoaded() {
            return true;
        }

        @Override
        public Set<String> getSettingNames() {
            return entries.keySet();
        }

        @Override
        public SecureString getString(String name) {
            return new SecureString(entries.get(name).toCharArray());
        }

        @Override
        public InputStream getFile(String name) {
            throw new UnsupportedOperationException("no file entries");
        }

        @Override
        public byte[] getSHA256Digest(String name) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(entries.get(name).getBytes(StandardCharsets.UTF_8));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {}
    }
}
