using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionsMonitor.Commands
{
    /// <summary>
    /// Runs asynchronous work on a worker task while the calling thread — a cmdlet's pipeline thread,
    /// the only one PowerShell lets write progress, verbose or output — handles what the work
    /// reports. Mechanics only: what to run and what to write are the caller's.
    /// </summary>
    internal static class PipelineWorker
    {
        /// <summary>
        /// Starts <paramref name="work"/> on the thread pool and calls <paramref name="onReport"/> on
        /// this thread for each value it reports, in order, until it ends; returns its result or
        /// rethrows its exception. When <paramref name="stop"/> is cancelled (the pipeline is stopping)
        /// or <paramref name="onReport"/> throws, the work is cancelled and awaited before this returns,
        /// so it never outlives the call; a cancelled run surfaces as <see cref="PipelineStoppedException"/>.
        /// </summary>
        internal static T Run<T, TReport>(Func<IProgress<TReport>, CancellationToken, Task<T>> work, Action<TReport> onReport, CancellationToken stop)
        {
            using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop))
            using (var queue = new BlockingCollection<TReport>(new ConcurrentQueue<TReport>()))
            {
                var task = Task.Run(async () =>
                {
                    try
                    {
                        return await work(new QueueProgress<TReport>(queue), cancel.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        queue.CompleteAdding();
                    }
                });
                bool drained = false;
                try
                {
                    foreach (var report in queue.GetConsumingEnumerable())
                        onReport(report);
                    drained = true;
                }
                finally
                {
                    if (!drained)
                    {
                        // onReport threw (e.g. WriteProgress while the pipeline stops): stop the work and let it clean up.
                        cancel.Cancel();
                        try { task.Wait(); }
                        catch (AggregateException) { }
                    }
                }
                try
                {
                    return task.GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    throw new PipelineStoppedException();
                }
            }
        }

        /// <summary>Hands reports from the worker to the waiting thread; reports after the end are dropped.</summary>
        private sealed class QueueProgress<TReport> : IProgress<TReport>
        {
            private readonly BlockingCollection<TReport> _queue;

            public QueueProgress(BlockingCollection<TReport> queue) => _queue = queue;

            public void Report(TReport value)
            {
                try { _queue.TryAdd(value); }
                catch (InvalidOperationException) { /* completed: the work is over */ }
            }
        }
    }
}
