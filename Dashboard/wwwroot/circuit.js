// Starts Blazor with one WebSocket per circuit and no separate negotiate request: the whole circuit then lives on the
// silo that this one connection reached, so several silos behind a balancer still serve it (docs/deploy.md, Kubernetes).
Blazor.start({
    circuit: {
        configureSignalR: builder => builder.withUrl("_blazor", { skipNegotiation: true, transport: 1 /* WebSockets */ }),
    },
});
