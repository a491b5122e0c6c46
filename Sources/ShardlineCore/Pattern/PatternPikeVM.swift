/// A thread of the Pike VM: an instruction waiting for the next code point, with its group 1
/// offsets (-1 when unset).
struct PatternThread {
    var instruction: Int32
    var groupStart: Int
    var groupEnd: Int
}

/// A pending step of the closure walk: explore an instruction (`instruction >= 0`) or restore a
/// group offset after the branch that set it is explored (`restoreGroupStart`/`restoreGroupEnd`).
struct PatternClosureJob {
    static let restoreGroupStart: Int32 = -1
    static let restoreGroupEnd: Int32 = -2

    var instruction: Int32
    var value: Int
}

/// Pike VM simulation of a `PatternProgram`, identical in its thread ordering to Go's
/// `regexp` machine: threads are kept in priority order, a thread reaching `match` cuts off all
/// lower-priority threads, and an instruction already visited at the current offset is not
/// visited again (which is also what ends empty loops). Time is O(input × program); memory is
/// three per-call scratch buffers sized from the program (marks per instruction, two thread lists,
/// the closure stack), on the stack when they are small.
extension PatternProgram {
    func firstGroupUsingPikeVM(in input: UnsafeBufferPointer<UInt8>) -> PatternMatch {
        let threadCapacity = threadCapacity
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: instructions.count) { marks in
            marks.initialize(repeating: 0)
            return withUnsafeTemporaryAllocation(of: PatternThread.self, capacity: 2 * threadCapacity) { threads in
                withUnsafeTemporaryAllocation(of: PatternClosureJob.self, capacity: closureJobCapacity) { jobs in
                    instructions.withUnsafeBufferPointer { program in
                        sets.withUnsafeBufferPointer { sets in
                            requiredPrefix.withUnsafeBufferPointer { prefix in
                                var machine = PatternPikeMachine(
                                    program: program, sets: sets, input: input, prefix: prefix,
                                    marks: marks.baseAddress!, jobs: jobs.baseAddress!)
                                return machine.run(
                                    start: start, anchoredAtStart: anchoredAtStart,
                                    current: threads.baseAddress!, next: threads.baseAddress! + threadCapacity)
                            }
                        }
                    }
                }
            }
        }
    }
}

private struct PatternPikeMachine {
    let program: UnsafeBufferPointer<PatternInstruction>
    let sets: UnsafeBufferPointer<PatternCompiledSet>
    let input: UnsafeBufferPointer<UInt8>
    let prefix: UnsafeBufferPointer<UInt8>
    /// marks[i] == stamp when instruction i is already on the list being built.
    let marks: UnsafeMutablePointer<Int>
    let jobs: UnsafeMutablePointer<PatternClosureJob>

    mutating func run(
        start: Int32, anchoredAtStart: Bool,
        current initialCurrent: UnsafeMutablePointer<PatternThread>,
        next initialNext: UnsafeMutablePointer<PatternThread>
    ) -> PatternMatch {
        var current = initialCurrent
        var next = initialNext
        var currentCount = 0
        var stamp = 1
        var position = 0
        let length = input.count
        var matched = false
        var groupStart = -1
        var groupEnd = -1

        while true {
            if currentCount == 0 {
                if matched || (anchoredAtStart && position > 0) {
                    break
                }
                if !prefix.isEmpty {
                    guard let found = nextOccurrenceOfPrefix(from: position) else { break }
                    if found != position {
                        position = found
                        stamp += 1
                    }
                }
            }
            if !matched && (position == 0 || !anchoredAtStart) {
                addThreads(from: start, at: position, groupStart: -1, groupEnd: -1, stamp: stamp, into: current, count: &currentCount)
            }
            if position >= length {
                for index in 0..<currentCount where program[Int(current[index].instruction)].opcode == .match {
                    matched = true
                    groupStart = current[index].groupStart
                    groupEnd = current[index].groupEnd
                    break
                }
                break
            }
            let (codePoint, width) = PatternUTF8.decode(input.baseAddress!, at: position, count: length)
            let nextPosition = position + width
            stamp += 1
            var nextCount = 0
            meterPatternWork(1 + currentCount)
            for index in 0..<currentCount {
                let thread = current[index]
                let instruction = program[Int(thread.instruction)]
                let accepted: Bool
                switch instruction.opcode {
                case .match:
                    matched = true
                    groupStart = thread.groupStart
                    groupEnd = thread.groupEnd
                    accepted = false
                case .codePoint:
                    accepted = codePoint == instruction.argument
                case .codePointSet:
                    accepted = sets[Int(instruction.argument)].contains(codePoint)
                case .anyExceptNewline:
                    accepted = codePoint != 0x0A
                case .anyCodePoint:
                    accepted = true
                default:
                    accepted = false
                }
                if instruction.opcode == .match {
                    // Leftmost-first: lower-priority threads can no longer win.
                    break
                }
                if accepted {
                    addThreads(
                        from: instruction.next, at: nextPosition, groupStart: thread.groupStart, groupEnd: thread.groupEnd,
                        stamp: stamp, into: next, count: &nextCount)
                }
            }
            swap(&current, &next)
            currentCount = nextCount
            position = nextPosition
        }

        guard matched else { return .noMatch }
        guard groupStart >= 0, groupEnd >= groupStart else { return .matchedWithoutGroup }
        return .matched(group: groupStart..<groupEnd)
    }

    /// Adds the threads reachable from `origin` without consuming input, in priority order.
    private mutating func addThreads(
        from origin: Int32, at position: Int, groupStart initialStart: Int, groupEnd initialEnd: Int,
        stamp: Int, into list: UnsafeMutablePointer<PatternThread>, count: inout Int
    ) {
        var groupStart = initialStart
        var groupEnd = initialEnd
        var jobCount = 1
        jobs[0] = PatternClosureJob(instruction: origin, value: 0)
        while jobCount > 0 {
            meterPatternWork()
            jobCount -= 1
            let job = jobs[jobCount]
            var index = job.instruction
            switch index {
            case PatternClosureJob.restoreGroupStart:
                groupStart = job.value
                continue
            case PatternClosureJob.restoreGroupEnd:
                groupEnd = job.value
                continue
            default:
                break
            }
            walk: while marks[Int(index)] != stamp {
                meterPatternWork()
                marks[Int(index)] = stamp
                let instruction = program[Int(index)]
                switch instruction.opcode {
                case .split:
                    jobs[jobCount] = PatternClosureJob(instruction: instruction.alternative, value: 0)
                    jobCount += 1
                    index = instruction.next
                case .nop:
                    index = instruction.next
                case .saveGroupStart:
                    jobs[jobCount] = PatternClosureJob(instruction: PatternClosureJob.restoreGroupStart, value: groupStart)
                    jobCount += 1
                    groupStart = position
                    index = instruction.next
                case .saveGroupEnd:
                    jobs[jobCount] = PatternClosureJob(instruction: PatternClosureJob.restoreGroupEnd, value: groupEnd)
                    jobCount += 1
                    groupEnd = position
                    index = instruction.next
                case .beginningOfText:
                    guard position == 0 else { break walk }
                    index = instruction.next
                case .endOfText:
                    guard position == input.count else { break walk }
                    index = instruction.next
                case .match, .codePoint, .codePointSet, .anyExceptNewline, .anyCodePoint:
                    list[count] = PatternThread(instruction: index, groupStart: groupStart, groupEnd: groupEnd)
                    count += 1
                    break walk
                }
            }
        }
    }

    private func nextOccurrenceOfPrefix(from position: Int) -> Int? {
        let length = input.count
        let needle = prefix.count
        guard length >= needle else { return nil }
        let first = prefix[0]
        var candidate = position
        while candidate <= length - needle {
            if input[candidate] == first {
                var offset = 1
                while offset < needle, input[candidate + offset] == prefix[offset] {
                    offset += 1
                }
                meterPatternWork(offset)
                if offset == needle { return candidate }
            }
            meterPatternWork()
            candidate += 1
        }
        return nil
    }
}
