// Starts Blazor with one WebSocket per circuit and no separate negotiate request: the whole circuit then lives on the
// silo that this one connection reached, so several silos behind a balancer still serve it (docs/deploy.md, Kubernetes).
// A dropped circuit is reconnected; when the silo that held it is gone (another silo answers that it does not know the
// circuit) or none answers for a while, the page is loaded again: the sign-in cookie is valid on every silo.
let reconnecting = null;

async function reconnectOrReload() {
    for (let attempt = 0; attempt < 15; attempt++) {
        await new Promise(resolve => setTimeout(resolve, attempt === 0 ? 250 : 1000));
        try {
            if (await Blazor.reconnect()) {
                reconnecting = null;
                return;
            }
            break; // a silo answered that it does not hold this circuit
        } catch {
            // no silo took the connection yet: try again
        }
    }
    location.reload();
}

Blazor.start({
    circuit: {
        configureSignalR: builder => builder.withUrl("_blazor", { skipNegotiation: true, transport: 1 /* WebSockets */ }),
        reconnectionHandler: {
            onConnectionDown: () => { reconnecting ??= reconnectOrReload(); },
            onConnectionUp: () => { },
        },
    },
});
