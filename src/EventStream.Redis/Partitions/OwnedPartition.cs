namespace EventStream.Redis.Partitions;

/// <summary>
/// A partition this worker holds the lease of: its committed cursor, and what it gathered since (under its lock: the
/// window stage's loop and the dead-letter recorder both add to it).
/// </summary>
internal sealed class OwnedPartition(int partition, long epoch, PartitionCursor cursor)
{
    private readonly Lock _gate = new();
    private volatile bool _accepted;

    public int Partition { get; } = partition;

    public long Epoch { get; } = epoch;

    /// <summary>Gets or sets the id of the last input entry its committed state includes.</summary>
    public string Position { get; set; } = cursor.Position;

    /// <summary>Gets or sets the last commit's sequence number.</summary>
    public long Sequence { get; set; } = cursor.Sequence;

    /// <summary>Gets or sets the engine clock of the last commit.</summary>
    public EventStream.Windowing.State.WindowClock Clock { get; set; } = cursor.Clock;

    /// <summary>Gets or sets the input's largest event time at the last commit.</summary>
    public long StreamMaxTimestamp { get; set; } = cursor.StreamMaxTimestamp;

    /// <summary>Gets or sets when the partition last committed (epoch ms), or 0.</summary>
    public long CommittedAt { get; set; } = cursor.CommittedAt;

    /// <summary>Gets or sets the committed counts.</summary>
    public PartitionCounts Counts { get; set; } = cursor.Counts;

    /// <summary>Gets or sets the id of the last committed result the stages after the window are known to have taken.</summary>
    public string Delivered { get; set; } = cursor.Delivered;

    /// <summary>Gets or sets the id of the last committed result handed to the stages after the window, or <see langword="null"/>.</summary>
    public string? Handed { get; set; }

    /// <summary>Gets or sets whether the partition's windows have all fired (the input is complete).</summary>
    public bool Final { get; set; } = cursor.Final;

    /// <summary>Gets or sets whether the partition is to be handed over at the next commit (it is assigned elsewhere now).</summary>
    public bool Release { get; set; }

    /// <summary>Gets or sets whether the window stage adds its events: the reader is past its committed position.</summary>
    public bool Accepted
    {
        get => _accepted;
        set => _accepted = value;
    }

    /// <summary>Gets the commit being gathered.</summary>
    public PartitionCommit Pending { get; private set; } = new();

    /// <summary>Gets the counts gathered since the last commit.</summary>
    public PartitionCounts Gathered { get; private set; }

    /// <summary>Adds to the commit being gathered, and to its counts.</summary>
    public void Gather(Action<PartitionCommit>? add, long windowed = 0, long late = 0, long dead = 0, long results = 0, long filtered = 0)
    {
        lock (_gate)
        {
            add?.Invoke(Pending);
            var g = Gathered;
            Gathered = g with
            {
                Read = g.Read + windowed + late + dead + filtered,
                Windowed = g.Windowed + windowed,
                Filtered = g.Filtered + filtered,
                Late = g.Late + late,
                DeadLettered = g.DeadLettered + dead,
                Results = g.Results + results,
            };
        }
    }

    /// <summary>Takes the gathered commit (and counts) and starts a new one.</summary>
    public (PartitionCommit Commit, PartitionCounts Gathered) Take()
    {
        lock (_gate)
        {
            var taken = (Pending, Gathered);
            Pending = new PartitionCommit();
            Gathered = default;
            return taken;
        }
    }
}
