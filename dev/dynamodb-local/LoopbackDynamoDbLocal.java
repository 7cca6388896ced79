// Starts DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local's own main() binds its embedded Jetty server to every interface, and it has no
// flag to change that. This launcher builds the server through DynamoDB Local's public factory,
// reaches the Jetty server inside it, sets each network connector's host to 127.0.0.1, and only
// then starts it. After start it checks that every connector really is bound to loopback on the
// requested port, and exits non-zero otherwise, so a script never mistakes a failed start for a
// running server.
//
// Usage: java -Djava.net.preferIPv4Stack=true -Djava.library.path=<emulator>/DynamoDBLocal_lib \
//             -cp <launcher dir>:<emulator>/DynamoDBLocal.jar \
//             LoopbackDynamoDbLocal <port> (-inMemory | <dbPath>)
// Always adds -sharedDb (one database whatever the client's region and key) and -disableTelemetry.
//
// Compiled by dev/install.sh; do not add dependencies beyond DynamoDB Local's own jars.

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;

public final class LoopbackDynamoDbLocal {
    private static final String LOOPBACK = "127.0.0.1";

    private LoopbackDynamoDbLocal() {}

    public static void main(String[] args) {
        // Any uncaught failure must end the JVM: Jetty's non-daemon threads would otherwise keep a
        // half-started process alive and the start script would wait on it for nothing.
        try {
            run(args);
        } catch (Exception e) {
            fail("DynamoDB Local failed: " + rootCause(e));
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 2) {
            usage("expected 2 arguments, got " + args.length);
        }
        int port;
        try {
            port = Integer.parseInt(args[0]);
        } catch (NumberFormatException e) {
            usage("port is not a number: " + args[0]);
            return;
        }

        List<String> cli = new ArrayList<>(List.of("-port", Integer.toString(port), "-sharedDb", "-disableTelemetry"));
        if ("-inMemory".equals(args[1])) {
            cli.add("-inMemory");
        } else {
            cli.add("-dbPath");
            cli.add(args[1]);
        }

        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(cli.toArray(new String[0]));
        Server jetty = jettyOf(proxy);

        // The whole point: restrict every listening connector to loopback before it binds.
        int networkConnectors = 0;
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof AbstractNetworkConnector) {
                ((AbstractNetworkConnector) connector).setHost(LOOPBACK);
                networkConnectors++;
            } else if (connector instanceof NetworkConnector) {
                fail("cannot set the host of connector " + connector + "; refusing to listen on all interfaces");
            }
        }
        if (networkConnectors == 0) {
            fail("no network connector found in DynamoDB Local's Jetty server; cannot restrict it to " + LOOPBACK);
        }

        // Stop Jetty and close the SQLite files cleanly on SIGTERM/SIGINT (matters for -dbPath).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                proxy.stop();
            } catch (Exception e) {
                System.err.println("LoopbackDynamoDbLocal: error while stopping: " + e);
            }
        }, "dynamodb-local-shutdown"));

        // A failed bind may be printed rather than thrown, and either way Jetty's non-daemon threads
        // would keep the JVM alive: catch everything and exit, then check the outcome explicitly.
        try {
            proxy.start();
        } catch (Exception e) {
            fail("DynamoDB Local could not start on " + LOOPBACK + ":" + port + ": " + rootCause(e));
        }
        if (!jetty.isStarted()) {
            fail("DynamoDB Local did not start on " + LOOPBACK + ":" + port + " (port in use?)");
        }
        for (Connector connector : jetty.getConnectors()) {
            if (connector instanceof NetworkConnector) {
                NetworkConnector nc = (NetworkConnector) connector;
                if (!LOOPBACK.equals(nc.getHost()) || nc.getLocalPort() != port) {
                    fail("connector bound to " + nc.getHost() + ":" + nc.getLocalPort() + ", expected " + LOOPBACK + ":" + port);
                }
            }
        }
        System.out.println("LoopbackDynamoDbLocal: listening on " + LOOPBACK + ":" + port
                + ("-inMemory".equals(args[1]) ? " (in memory)" : " (dbPath " + args[1] + ")"));
        proxy.join();
    }

    // DynamoDBProxyServer keeps its Jetty server in a private field named "server"; find it by type
    // so a rename in a later DynamoDB Local release does not break us.
    private static Server jettyOf(DynamoDBProxyServer proxy) throws IllegalAccessException {
        for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (Server.class.isAssignableFrom(field.getType())) {
                field.setAccessible(true);
                return (Server) field.get(proxy);
            }
        }
        fail("no Jetty Server field in " + DynamoDBProxyServer.class.getName());
        return null; // unreachable
    }

    private static String rootCause(Throwable t) {
        StringBuilder text = new StringBuilder(t.toString());
        for (Throwable c = t.getCause(); c != null && c != t; t = c, c = c.getCause()) {
            text.append(" <- ").append(c);
        }
        return text.toString();
    }

    private static void usage(String why) {
        System.err.println("LoopbackDynamoDbLocal: " + why);
        System.err.println("usage: LoopbackDynamoDbLocal <port> (-inMemory | <dbPath>)");
        System.exit(2);
    }

    private static void fail(String why) {
        System.err.println("LoopbackDynamoDbLocal: " + why);
        System.exit(1);
    }
}
