"""Jobs: training runs and map fits in worker processes, never in the web server.

A run's life, and the module that owns each step:

    form      dashboard.views.train          the Train form's values -> configs (services.training)
    submit    services.jobs.runs             reserve the run's folder, write the job's channel
    queue     services.jobs.queue            one per visitor, LSE_MAX_TRAININGS at once, FIFO, "gone"
    worker    services.jobs.executor         a Dask worker process (embedded pool, or LSE_SCHEDULER)
    run       services.jobs.worker           load data once, train, score, save atomically, map
    progress  services.jobs.channel          job.json, progress.jsonl, status.json, stop, seen
    shown     dashboard.views.train          reads the channel every second (any tab, after reload)
    selected  dashboard.shell.frame          the finished run becomes the active model

A map the app needs and nobody has fitted is a job too (services.jobs.maps: one per map, joined
by everyone who asks for it meanwhile; its page side is dashboard.data.map_fits).

The CLI (`python -m services.jobs train|project|stop`) submits through the same queue.
"""
