using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventStream.Cli.Tests;

/// <summary>
/// A TCP proxy in front of a real Redis that passes every command through until the n-th command with a given name,
/// and forwards nothing a client sends after that one: a process behind it has that command executed, and every later
/// command of it (the apply of the batch it just read, say) never reaches Redis. Replies always pass. This is how a
/// test kills a worker between reading a batch and applying it without racing it.
/// Made with <see cref="HoldingFirst"/> it instead holds each connection at its first command of that name until
/// <see cref="Release"/>: several processes behind it then start that command together.
/// </summary>
internal sealed class CutProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly EndPoint _redis;
    private readonly string _command;
    private readonly int _cutAfter;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _cut = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _pumps = [];
    private readonly TaskCompletionSource? _gate;
    private int _seen;
    private int _held;
    private int _refused;

    public CutProxy(EndPoint redis, string command, int cutAfter)
        : this(redis, command, cutAfter, gate: null)
    {
    }

    private CutProxy(EndPoint redis, string command, int cutAfter, TaskCompletionSource? gate)
    {
        _redis = redis;
        _command = command;
        _cutAfter = cutAfter;
        _gate = gate;
        _listener.Start();
        _pumps.Add(AcceptAsync());
    }

    /// <summary>A proxy that forwards everything and counts the clients it could not connect to Redis (<see cref="Refused"/>).</summary>
    public static CutProxy PassThrough(EndPoint redis) => new(redis, string.Empty, cutAfter: 0, gate: null);

    /// <summary>How many client connections found Redis down (the proxy could not connect on their behalf and closed them).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>A proxy that cuts nothing and holds every connection's first <paramref name="command"/> until <see cref="Release"/>.</summary>
    public static CutProxy HoldingFirst(EndPoint redis, string command) =>
        new(redis, command, cutAfter: 0, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>How many connections wait at their first held command.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Lets every held connection (and every later one) go on.</summary>
    public void Release() => _gate?.TrySetResult();

    /// <summary>The address to give a client instead of Redis's.</summary>
    public string Configuration => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes once the cut command has been forwarded; nothing a client sends is forwarded after it.</summary>
    public Task Cut => _cut.Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll(_pumps.ToArray()).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var server = new TcpClient();
            try
            {
                await (_redis switch
                {
                    IPEndPoint ip => server.ConnectAsync(ip),
                    DnsEndPoint dns => server.ConnectAsync(dns.Host, dns.Port),
                    _ => throw new NotSupportedException($"cannot proxy to {_redis}"),
                });
            }
            catch (SocketException)
            {
                // Redis is down: the client sees its connection closed, as it would see it refused.
                Interlocked.Increment(ref _refused);
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_pumps)
            {
                _pumps.Add(_command.Length == 0 ? CopyAsync(client, server) : CommandsAsync(client, server));
                _pumps.Add(CopyAsync(server, client));
            }
        }
    }

    /// <summary>Forwards everything one side sends to the other (the replies; the commands too when nothing is cut).</summary>
    private async Task CopyAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token);
        }
        catch (Exception)
        {
            // a side closed: the other pump ends too
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    /// <summary>Forwards whole RESP commands (arrays of bulk strings) until the cut, then reads and drops the rest.</summary>
    private async Task CommandsAsync(TcpClient client, TcpClient server)
    {
        var buffer = new List<byte>();
        var chunk = new byte[64 * 1024];
        var cut = false;
        var held = _gate is null;
        try
        {
            var input = client.GetStream();
            var output = server.GetStream();
            while (true)
            {
                var read = await input.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (cut)
                {
                    continue;
                }

                buffer.AddRange(chunk.AsSpan(0, read));
                var forward = 0;
                while (!cut && TryParse(buffer, forward, out var end, out var name))
                {
                    if (!held && string.Equals(name, _command, StringComparison.OrdinalIgnoreCase))
                    {
                        // Forward what came before it, wait at the gate, then go on as if nothing happened.
                        held = true;
                        await output.WriteAsync(buffer.GetRange(0, forward).ToArray(), _stop.Token);
                        buffer.RemoveRange(0, forward);
                        end -= forward;
                        forward = 0;
                        Interlocked.Increment(ref _held);
                        await _gate!.Task.WaitAsync(_stop.Token);
                    }

                    forward = end;
                    if (_gate is null && string.Equals(name, _command, StringComparison.OrdinalIgnoreCase) && Interlocked.Increment(ref _seen) == _cutAfter)
                    {
                        cut = true;
                    }
                }

                await output.WriteAsync(buffer.GetRange(0, forward).ToArray(), _stop.Token);
                buffer.RemoveRange(0, forward);
                if (cut)
                {
                    _cut.TrySetResult();
                }
            }
        }
        catch (Exception)
        {
            // a side closed
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private static bool TryParse(List<byte> buffer, int start, out int end, out string name)
    {
        end = start;
        name = string.Empty;
        if (!TryLine(buffer, start, '*', out var parts, out var at))
        {
            return false;
        }

        for (var i = 0; i < parts; i++)
        {
            if (!TryLine(buffer, at, '$', out var length, out var data) || data + length + 2 > buffer.Count)
            {
                return false;
            }

            if (i == 0)
            {
                name = Encoding.ASCII.GetString(buffer.GetRange(data, length).ToArray());
            }

            at = data + length + 2;
        }

        end = at;
        return true;
    }

    private static bool TryLine(List<byte> buffer, int start, char marker, out int value, out int next)
    {
        value = 0;
        next = start;
        if (start >= buffer.Count)
        {
            return false;
        }

        if (buffer[start] != marker)
        {
            throw new InvalidDataException($"expected '{marker}' at byte {start} of a RESP command, found '{(char)buffer[start]}'");
        }

        for (var i = start + 1; i + 1 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n')
            {
                value = int.Parse(Encoding.ASCII.GetString(buffer.GetRange(start + 1, i - start - 1).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
                next = i + 2;
                return true;
            }
        }

        return false;
    }
}
