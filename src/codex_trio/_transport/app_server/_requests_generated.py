"""Typed methods for the client requests of ``codex app-server`` (pinned schema).

Written by scripts/gen_app_server_requests.py from the generated protocol's
``CLIENT_REQUESTS``; do not edit. A drift test regenerates it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.app_server import _generated as g

_T = TypeVar("_T")

STABLE_METHODS: frozenset[str] = frozenset({
    'account/gatewayOAuth/cancel',
    'account/gatewayOAuth/login',
    'account/gatewayOAuth/read',
    'account/login/cancel',
    'account/login/start',
    'account/logout',
    'account/rateLimitResetCredit/consume',
    'account/rateLimits/read',
    'account/read',
    'account/sendAddCreditsNudgeEmail',
    'account/usage/read',
    'account/workspaceMessages/read',
    'app/installed',
    'app/list',
    'app/read',
    'command/exec',
    'command/exec/resize',
    'command/exec/terminate',
    'command/exec/write',
    'config/batchWrite',
    'config/mcpServer/reload',
    'config/read',
    'config/value/write',
    'configRequirements/read',
    'experimentalFeature/enablement/set',
    'experimentalFeature/list',
    'externalAgentConfig/detect',
    'externalAgentConfig/import',
    'externalAgentConfig/import/readHistories',
    'externalAgentConfig/import/recordHistory',
    'feedback/upload',
    'fs/copy',
    'fs/createDirectory',
    'fs/getMetadata',
    'fs/readDirectory',
    'fs/readFile',
    'fs/remove',
    'fs/unwatch',
    'fs/watch',
    'fs/writeFile',
    'fuzzyFileSearch',
    'hooks/list',
    'initialize',
    'marketplace/add',
    'marketplace/remove',
    'marketplace/upgrade',
    'mcpServer/oauth/login',
    'mcpServer/resource/read',
    'mcpServer/tool/call',
    'mcpServerStatus/list',
    'model/list',
    'modelProvider/capabilities/read',
    'permissionProfile/list',
    'plugin/install',
    'plugin/installed',
    'plugin/list',
    'plugin/read',
    'plugin/reconcile',
    'plugin/share/checkout',
    'plugin/share/delete',
    'plugin/share/list',
    'plugin/share/save',
    'plugin/share/updateTargets',
    'plugin/skill/read',
    'plugin/uninstall',
    'review/start',
    'skills/config/write',
    'skills/extraRoots/set',
    'skills/list',
    'thread/approveGuardianDeniedAction',
    'thread/archive',
    'thread/attachment/add',
    'thread/attachment/list',
    'thread/attachment/remove',
    'thread/attachmentOwner/list',
    'thread/compact/start',
    'thread/delete',
    'thread/fork',
    'thread/goal/clear',
    'thread/goal/get',
    'thread/goal/set',
    'thread/inject_items',
    'thread/items/list',
    'thread/list',
    'thread/loaded/list',
    'thread/metadata/update',
    'thread/name/set',
    'thread/read',
    'thread/resume',
    'thread/revert',
    'thread/section/move',
    'thread/shellCommand',
    'thread/start',
    'thread/turns/list',
    'thread/unarchive',
    'thread/unsubscribe',
    'threadSection/create',
    'threadSection/delete',
    'threadSection/list',
    'threadSection/update',
    'turn/interrupt',
    'turn/start',
    'turn/steer',
    'windowsSandbox/readiness',
    'windowsSandbox/setupStart',
})
"""Client requests of the stable API; the others need ``experimental_api`` (initialize)."""


class GeneratedRequests:
    """One typed method per client request (see the module docstring)."""

    experimental_api: bool = True
    """Whether the connection was initialized with the experimental API (then every method
    is available; without it, an experimental one raises ConfigurationError unsent)."""

    async def _typed(
        self, method: str, params: Any, response: type[_T], *, time_limit: float | None = None
    ) -> _T:  # pragma: no cover - provided by AppServerClient
        raise NotImplementedError

    def _experimental(self, method: str) -> None:
        if not self.experimental_api:
            raise ConfigurationError(
                f"{method} is part of the experimental app-server API: open the client with "
                "experimental_api=True (the default)"
            )

    async def server_diagnostics(self) -> g.ServerDiagnosticsResponse:
        """``server/diagnostics`` (experimental API)."""
        self._experimental('server/diagnostics')
        return await self._typed('server/diagnostics', g.ServerDiagnosticsParams(), g.ServerDiagnosticsResponse)

    async def user_verification_status(self) -> g.UserVerificationStatusResponse:
        """``userVerification/status`` (experimental API)."""
        self._experimental('userVerification/status')
        return await self._typed('userVerification/status', None, g.UserVerificationStatusResponse)

    async def user_verification_enroll(self) -> g.UserVerificationEnrollResponse:
        """``userVerification/enroll`` (experimental API)."""
        self._experimental('userVerification/enroll')
        return await self._typed('userVerification/enroll', None, g.UserVerificationEnrollResponse)

    async def user_verification_delete(self) -> g.UserVerificationDeleteResponse:
        """``userVerification/delete`` (experimental API)."""
        self._experimental('userVerification/delete')
        return await self._typed('userVerification/delete', None, g.UserVerificationDeleteResponse)

    async def user_verification_verify(self, *, challenge: str, description: str, title: str) -> g.UserVerificationVerifyResponse:
        """``userVerification/verify`` (experimental API)."""
        self._experimental('userVerification/verify')
        return await self._typed('userVerification/verify', g.UserVerificationVerifyParams(challenge=challenge, description=description, title=title), g.UserVerificationVerifyResponse)

    async def user_verification_cancel(self, *, request_id: Any) -> g.UserVerificationCancelResponse:
        """``userVerification/cancel`` (experimental API)."""
        self._experimental('userVerification/cancel')
        return await self._typed('userVerification/cancel', g.UserVerificationCancelParams(request_id=request_id), g.UserVerificationCancelResponse)

    async def thread_delete(self, *, thread_id: str) -> g.ThreadDeleteResponse:
        """``thread/delete``."""
        return await self._typed('thread/delete', g.ThreadDeleteParams(thread_id=thread_id), g.ThreadDeleteResponse)

    async def thread_increment_elicitation(self, *, thread_id: str) -> g.ThreadIncrementElicitationResponse:
        """``thread/increment_elicitation`` (experimental API)."""
        self._experimental('thread/increment_elicitation')
        return await self._typed('thread/increment_elicitation', g.ThreadIncrementElicitationParams(thread_id=thread_id), g.ThreadIncrementElicitationResponse)

    async def thread_decrement_elicitation(self, *, thread_id: str) -> g.ThreadDecrementElicitationResponse:
        """``thread/decrement_elicitation`` (experimental API)."""
        self._experimental('thread/decrement_elicitation')
        return await self._typed('thread/decrement_elicitation', g.ThreadDecrementElicitationParams(thread_id=thread_id), g.ThreadDecrementElicitationResponse)

    async def thread_name_set(self, *, name: str, thread_id: str) -> g.ThreadSetNameResponse:
        """``thread/name/set``."""
        return await self._typed('thread/name/set', g.ThreadSetNameParams(name=name, thread_id=thread_id), g.ThreadSetNameResponse)

    async def thread_prediction_request(self, *, source_turn_id: str, thread_id: str) -> g.ThreadPredictionRequestResponse:
        """``thread/prediction/request`` (experimental API)."""
        self._experimental('thread/prediction/request')
        return await self._typed('thread/prediction/request', g.ThreadPredictionRequestParams(source_turn_id=source_turn_id, thread_id=thread_id), g.ThreadPredictionRequestResponse)

    async def thread_goal_set(self, *, thread_id: str, objective: str | None = None, origin: g.ThreadGoalMutationOrigin | None = None, status: g.ThreadGoalStatus | None = None, token_budget: int | None = None) -> g.ThreadGoalSetResponse:
        """``thread/goal/set``."""
        return await self._typed('thread/goal/set', g.ThreadGoalSetParams(objective=objective, origin=origin, status=status, thread_id=thread_id, token_budget=token_budget), g.ThreadGoalSetResponse)

    async def thread_goal_get(self, *, thread_id: str) -> g.ThreadGoalGetResponse:
        """``thread/goal/get``."""
        return await self._typed('thread/goal/get', g.ThreadGoalGetParams(thread_id=thread_id), g.ThreadGoalGetResponse)

    async def thread_goal_clear(self, *, thread_id: str, origin: g.ThreadGoalMutationOrigin | None = None) -> g.ThreadGoalClearResponse:
        """``thread/goal/clear``."""
        return await self._typed('thread/goal/clear', g.ThreadGoalClearParams(origin=origin, thread_id=thread_id), g.ThreadGoalClearResponse)

    async def thread_queue_add(self, *, client_user_message_id: str, input: tuple[g.UserInput, ...], thread_id: str) -> g.ThreadQueueAddResponse:
        """``thread/queue/add`` (experimental API)."""
        self._experimental('thread/queue/add')
        return await self._typed('thread/queue/add', g.ThreadQueueAddParams(client_user_message_id=client_user_message_id, input=input, thread_id=thread_id), g.ThreadQueueAddResponse)

    async def thread_queue_list(self, *, thread_id: str, cursor: str | None = None, limit: int | None = None) -> g.ThreadQueueListResponse:
        """``thread/queue/list`` (experimental API)."""
        self._experimental('thread/queue/list')
        return await self._typed('thread/queue/list', g.ThreadQueueListParams(cursor=cursor, limit=limit, thread_id=thread_id), g.ThreadQueueListResponse)

    async def thread_queue_update(self, *, input: tuple[g.UserInput, ...], queued_submission_id: str, thread_id: str) -> g.ThreadQueueUpdateResponse:
        """``thread/queue/update`` (experimental API)."""
        self._experimental('thread/queue/update')
        return await self._typed('thread/queue/update', g.ThreadQueueUpdateParams(input=input, queued_submission_id=queued_submission_id, thread_id=thread_id), g.ThreadQueueUpdateResponse)

    async def thread_queue_delete(self, *, queued_submission_id: str, thread_id: str) -> g.ThreadQueueDeleteResponse:
        """``thread/queue/delete`` (experimental API)."""
        self._experimental('thread/queue/delete')
        return await self._typed('thread/queue/delete', g.ThreadQueueDeleteParams(queued_submission_id=queued_submission_id, thread_id=thread_id), g.ThreadQueueDeleteResponse)

    async def thread_queue_reorder(self, *, queued_submission_ids: tuple[str, ...], thread_id: str) -> g.ThreadQueueReorderResponse:
        """``thread/queue/reorder`` (experimental API)."""
        self._experimental('thread/queue/reorder')
        return await self._typed('thread/queue/reorder', g.ThreadQueueReorderParams(queued_submission_ids=queued_submission_ids, thread_id=thread_id), g.ThreadQueueReorderResponse)

    async def thread_queue_start(self, *, thread_id: str, queued_submission_id: str | None = None) -> g.ThreadQueueStartResponse:
        """``thread/queue/start`` (experimental API)."""
        self._experimental('thread/queue/start')
        return await self._typed('thread/queue/start', g.ThreadQueueStartParams(queued_submission_id=queued_submission_id, thread_id=thread_id), g.ThreadQueueStartResponse)

    async def thread_metadata_update(self, *, thread_id: str, daybreak_enabled: bool | None = None, git_info: g.ThreadMetadataGitInfoUpdateParams | None = None, project_id: str | None = None) -> g.ThreadMetadataUpdateResponse:
        """``thread/metadata/update``."""
        return await self._typed('thread/metadata/update', g.ThreadMetadataUpdateParams(daybreak_enabled=daybreak_enabled, git_info=git_info, project_id=project_id, thread_id=thread_id), g.ThreadMetadataUpdateResponse)

    async def thread_attachment_add(self, *, attachment_type: str, identity_key: str, payload: Any, thread_id: str) -> g.ThreadAttachmentAddResponse:
        """``thread/attachment/add``."""
        return await self._typed('thread/attachment/add', g.ThreadAttachmentAddParams(attachment_type=attachment_type, identity_key=identity_key, payload=payload, thread_id=thread_id), g.ThreadAttachmentAddResponse)

    async def thread_attachment_list(self, *, thread_id: str, cursor: str | None = None, limit: int | None = None) -> g.ThreadAttachmentListResponse:
        """``thread/attachment/list``."""
        return await self._typed('thread/attachment/list', g.ThreadAttachmentListParams(cursor=cursor, limit=limit, thread_id=thread_id), g.ThreadAttachmentListResponse)

    async def thread_attachment_owner_list(self, *, attachment_type: str, identity_key: str, archived: bool | None = None, cursor: str | None = None, limit: int | None = None) -> g.ThreadAttachmentOwnerListResponse:
        """``thread/attachmentOwner/list``."""
        return await self._typed('thread/attachmentOwner/list', g.ThreadAttachmentOwnerListParams(archived=archived, attachment_type=attachment_type, cursor=cursor, identity_key=identity_key, limit=limit), g.ThreadAttachmentOwnerListResponse)

    async def thread_attachment_remove(self, *, attachment_type: str, identity_key: str, thread_id: str) -> g.ThreadAttachmentRemoveResponse:
        """``thread/attachment/remove``."""
        return await self._typed('thread/attachment/remove', g.ThreadAttachmentRemoveParams(attachment_type=attachment_type, identity_key=identity_key, thread_id=thread_id), g.ThreadAttachmentRemoveResponse)

    async def thread_section_move(self, *, section_id: str | None, thread_id: str, before_thread_id: str | None = None) -> g.ThreadSectionMoveResponse:
        """``thread/section/move``."""
        return await self._typed('thread/section/move', g.ThreadSectionMoveParams(before_thread_id=before_thread_id, section_id=section_id, thread_id=thread_id), g.ThreadSectionMoveResponse)

    async def thread_settings_update(self, *, thread_id: str, approval_policy: Any | None = None, approvals_reviewer: g.ApprovalsReviewer | None = None, collaboration_mode: g.CollaborationMode | None = None, cwd: str | None = None, disabled_plugin_ids: tuple[str, ...] | None = None, effort: str | None = None, model: str | None = None, multi_agent_mode: Any | None = None, permissions: str | None = None, personality: g.Personality | None = None, sandbox_policy: g.SandboxPolicy | None = None, service_tier: str | None = None, summary: g.ReasoningSummary | None = None) -> g.ThreadSettingsUpdateResponse:
        """``thread/settings/update`` (experimental API)."""
        self._experimental('thread/settings/update')
        return await self._typed('thread/settings/update', g.ThreadSettingsUpdateParams(approval_policy=approval_policy, approvals_reviewer=approvals_reviewer, collaboration_mode=collaboration_mode, cwd=cwd, disabled_plugin_ids=disabled_plugin_ids, effort=effort, model=model, multi_agent_mode=multi_agent_mode, permissions=permissions, personality=personality, sandbox_policy=sandbox_policy, service_tier=service_tier, summary=summary, thread_id=thread_id), g.ThreadSettingsUpdateResponse)

    async def thread_memory_mode_set(self, *, mode: g.ThreadMemoryMode, thread_id: str) -> g.ThreadMemoryModeSetResponse:
        """``thread/memoryMode/set`` (experimental API)."""
        self._experimental('thread/memoryMode/set')
        return await self._typed('thread/memoryMode/set', g.ThreadMemoryModeSetParams(mode=mode, thread_id=thread_id), g.ThreadMemoryModeSetResponse)

    async def memory_status(self, *, min_consolidated_threads: int | None = None) -> g.MemoryStatusResponse:
        """``memory/status`` (experimental API)."""
        self._experimental('memory/status')
        return await self._typed('memory/status', g.MemoryStatusParams(min_consolidated_threads=min_consolidated_threads), g.MemoryStatusResponse)

    async def memory_reset(self) -> g.MemoryResetResponse:
        """``memory/reset`` (experimental API)."""
        self._experimental('memory/reset')
        return await self._typed('memory/reset', None, g.MemoryResetResponse)

    async def rollout_compress(self) -> g.RolloutCompressResponse:
        """``rollout/compress`` (experimental API)."""
        self._experimental('rollout/compress')
        return await self._typed('rollout/compress', None, g.RolloutCompressResponse)

    async def thread_unarchive(self, *, thread_id: str) -> g.ThreadUnarchiveResponse:
        """``thread/unarchive``."""
        return await self._typed('thread/unarchive', g.ThreadUnarchiveParams(thread_id=thread_id), g.ThreadUnarchiveResponse)

    async def thread_compact_start(self, *, thread_id: str) -> g.ThreadCompactStartResponse:
        """``thread/compact/start``."""
        return await self._typed('thread/compact/start', g.ThreadCompactStartParams(thread_id=thread_id), g.ThreadCompactStartResponse)

    async def thread_shell_command(self, *, command: str, thread_id: str, timeout_ms: int | None = None) -> g.ThreadShellCommandResponse:
        """``thread/shellCommand``."""
        return await self._typed('thread/shellCommand', g.ThreadShellCommandParams(command=command, thread_id=thread_id, timeout_ms=timeout_ms), g.ThreadShellCommandResponse)

    async def thread_approve_guardian_denied_action(self, *, event: Any, thread_id: str) -> g.ThreadApproveGuardianDeniedActionResponse:
        """``thread/approveGuardianDeniedAction``."""
        return await self._typed('thread/approveGuardianDeniedAction', g.ThreadApproveGuardianDeniedActionParams(event=event, thread_id=thread_id), g.ThreadApproveGuardianDeniedActionResponse)

    async def thread_background_terminals_clean(self, *, thread_id: str) -> g.ThreadBackgroundTerminalsCleanResponse:
        """``thread/backgroundTerminals/clean`` (experimental API)."""
        self._experimental('thread/backgroundTerminals/clean')
        return await self._typed('thread/backgroundTerminals/clean', g.ThreadBackgroundTerminalsCleanParams(thread_id=thread_id), g.ThreadBackgroundTerminalsCleanResponse)

    async def thread_background_terminals_list(self, *, thread_id: str, cursor: str | None = None, limit: int | None = None) -> g.ThreadBackgroundTerminalsListResponse:
        """``thread/backgroundTerminals/list`` (experimental API)."""
        self._experimental('thread/backgroundTerminals/list')
        return await self._typed('thread/backgroundTerminals/list', g.ThreadBackgroundTerminalsListParams(cursor=cursor, limit=limit, thread_id=thread_id), g.ThreadBackgroundTerminalsListResponse)

    async def thread_background_terminals_terminate(self, *, process_id: str, thread_id: str) -> g.ThreadBackgroundTerminalsTerminateResponse:
        """``thread/backgroundTerminals/terminate`` (experimental API)."""
        self._experimental('thread/backgroundTerminals/terminate')
        return await self._typed('thread/backgroundTerminals/terminate', g.ThreadBackgroundTerminalsTerminateParams(process_id=process_id, thread_id=thread_id), g.ThreadBackgroundTerminalsTerminateResponse)

    async def thread_revert(self, *, before_turn_id: str, thread_id: str) -> g.ThreadRevertResponse:
        """``thread/revert``."""
        return await self._typed('thread/revert', g.ThreadRevertParams(before_turn_id=before_turn_id, thread_id=thread_id), g.ThreadRevertResponse)

    async def thread_list(self, *, ancestor_thread_id: str | None = None, archived: bool | None = None, cursor: str | None = None, cwd: Any | None = None, excluded_thread_ids: tuple[str, ...] | None = None, limit: int | None = None, model_providers: tuple[str, ...] | None = None, originators: tuple[str, ...] | None = None, parent_thread_id: str | None = None, project_id: str | None = None, search_term: str | None = None, section_id: str | None = None, sort_direction: g.SortDirection | None = None, sort_key: g.ThreadSortKey | None = None, source_kinds: tuple[g.ThreadSourceKind, ...] | None = None, use_state_db_only: bool | None = None) -> g.ThreadListResponse:
        """``thread/list``."""
        return await self._typed('thread/list', g.ThreadListParams(ancestor_thread_id=ancestor_thread_id, archived=archived, cursor=cursor, cwd=cwd, excluded_thread_ids=excluded_thread_ids, limit=limit, model_providers=model_providers, originators=originators, parent_thread_id=parent_thread_id, project_id=project_id, search_term=search_term, section_id=section_id, sort_direction=sort_direction, sort_key=sort_key, source_kinds=source_kinds, use_state_db_only=use_state_db_only), g.ThreadListResponse)

    async def project_list(self, *, cursor: str | None = None, limit: int | None = None, sort_direction: g.SortDirection | None = None, sort_key: g.ProjectSortKey | None = None) -> g.ProjectListResponse:
        """``project/list`` (experimental API)."""
        self._experimental('project/list')
        return await self._typed('project/list', g.ProjectListParams(cursor=cursor, limit=limit, sort_direction=sort_direction, sort_key=sort_key), g.ProjectListResponse)

    async def project_read(self, *, project_id: str) -> g.ProjectReadResponse:
        """``project/read`` (experimental API)."""
        self._experimental('project/read')
        return await self._typed('project/read', g.ProjectReadParams(project_id=project_id), g.ProjectReadResponse)

    async def project_create(self, *, idempotency_key: str, name: str, roots: tuple[g.ProjectRoot, ...], metadata: Mapping[str, str] | None = None) -> g.ProjectCreateResponse:
        """``project/create`` (experimental API)."""
        self._experimental('project/create')
        return await self._typed('project/create', g.ProjectCreateParams(idempotency_key=idempotency_key, metadata=metadata, name=name, roots=roots), g.ProjectCreateResponse)

    async def project_import(self, *, idempotency_key: str, name: str, roots: tuple[g.ProjectRoot, ...], metadata: Mapping[str, str] | None = None, threads: tuple[str, ...] | None = None) -> g.ProjectImportResponse:
        """``project/import`` (experimental API)."""
        self._experimental('project/import')
        return await self._typed('project/import', g.ProjectImportParams(idempotency_key=idempotency_key, metadata=metadata, name=name, roots=roots, threads=threads), g.ProjectImportResponse)

    async def project_update(self, *, project_id: str, metadata: Mapping[str, str] | None = None, name: str | None = None, roots: tuple[g.ProjectRoot, ...] | None = None) -> g.ProjectUpdateResponse:
        """``project/update`` (experimental API)."""
        self._experimental('project/update')
        return await self._typed('project/update', g.ProjectUpdateParams(metadata=metadata, name=name, project_id=project_id, roots=roots), g.ProjectUpdateResponse)

    async def project_move(self, *, project_id: str, before_project_id: str | None = None) -> g.ProjectMoveResponse:
        """``project/move`` (experimental API)."""
        self._experimental('project/move')
        return await self._typed('project/move', g.ProjectMoveParams(before_project_id=before_project_id, project_id=project_id), g.ProjectMoveResponse)

    async def project_delete(self, *, project_id: str) -> g.ProjectDeleteResponse:
        """``project/delete`` (experimental API)."""
        self._experimental('project/delete')
        return await self._typed('project/delete', g.ProjectDeleteParams(project_id=project_id), g.ProjectDeleteResponse)

    async def thread_section_list(self, *, cursor: str | None = None, limit: int | None = None) -> g.ThreadSectionListResponse:
        """``threadSection/list``."""
        return await self._typed('threadSection/list', g.ThreadSectionListParams(cursor=cursor, limit=limit), g.ThreadSectionListResponse)

    async def thread_section_create(self, *, name: str, appearance: g.ThreadSectionAppearance | None = None) -> g.ThreadSectionCreateResponse:
        """``threadSection/create``."""
        return await self._typed('threadSection/create', g.ThreadSectionCreateParams(appearance=appearance, name=name), g.ThreadSectionCreateResponse)

    async def thread_section_update(self, *, name: str, section_id: str, appearance: g.ThreadSectionAppearance | None = None) -> g.ThreadSectionUpdateResponse:
        """``threadSection/update``."""
        return await self._typed('threadSection/update', g.ThreadSectionUpdateParams(appearance=appearance, name=name, section_id=section_id), g.ThreadSectionUpdateResponse)

    async def thread_section_delete(self, *, section_id: str) -> g.ThreadSectionDeleteResponse:
        """``threadSection/delete``."""
        return await self._typed('threadSection/delete', g.ThreadSectionDeleteParams(section_id=section_id), g.ThreadSectionDeleteResponse)

    async def thread_search(self, *, search_term: str, archived: bool | None = None, cursor: str | None = None, limit: int | None = None, sort_direction: g.SortDirection | None = None, sort_key: g.ThreadSearchSortKey | None = None, source_kinds: tuple[g.ThreadSourceKind, ...] | None = None) -> g.ThreadSearchResponse:
        """``thread/search`` (experimental API)."""
        self._experimental('thread/search')
        return await self._typed('thread/search', g.ThreadSearchParams(archived=archived, cursor=cursor, limit=limit, search_term=search_term, sort_direction=sort_direction, sort_key=sort_key, source_kinds=source_kinds), g.ThreadSearchResponse)

    async def thread_search_occurrences(self, *, search_term: str, thread_id: str, cursor: str | None = None, limit: int | None = None) -> g.ThreadSearchOccurrencesResponse:
        """``thread/searchOccurrences`` (experimental API)."""
        self._experimental('thread/searchOccurrences')
        return await self._typed('thread/searchOccurrences', g.ThreadSearchOccurrencesParams(cursor=cursor, limit=limit, search_term=search_term, thread_id=thread_id), g.ThreadSearchOccurrencesResponse)

    async def thread_loaded_list(self, *, cursor: str | None = None, limit: int | None = None) -> g.ThreadLoadedListResponse:
        """``thread/loaded/list``."""
        return await self._typed('thread/loaded/list', g.ThreadLoadedListParams(cursor=cursor, limit=limit), g.ThreadLoadedListResponse)

    async def thread_read(self, *, thread_id: str, include_turns: bool | None = None) -> g.ThreadReadResponse:
        """``thread/read``."""
        return await self._typed('thread/read', g.ThreadReadParams(include_turns=include_turns, thread_id=thread_id), g.ThreadReadResponse)

    async def thread_read_state_update(self, *, expected_revision: str, operation: g.ThreadReadStateOperation, thread_id: str) -> g.ThreadReadStateUpdateResponse:
        """``thread/readState/update`` (experimental API)."""
        self._experimental('thread/readState/update')
        return await self._typed('thread/readState/update', g.ThreadReadStateUpdateParams(expected_revision=expected_revision, operation=operation, thread_id=thread_id), g.ThreadReadStateUpdateResponse)

    async def thread_turns_list(self, *, thread_id: str, cursor: str | None = None, items_view: g.TurnItemsView | None = None, limit: int | None = None, sort_direction: g.SortDirection | None = None) -> g.ThreadTurnsListResponse:
        """``thread/turns/list``."""
        return await self._typed('thread/turns/list', g.ThreadTurnsListParams(cursor=cursor, items_view=items_view, limit=limit, sort_direction=sort_direction, thread_id=thread_id), g.ThreadTurnsListResponse)

    async def thread_items_list(self, *, thread_id: str, cursor: Any | None = None, limit: int | None = None, sort_direction: g.SortDirection | None = None, turn_id: str | None = None) -> g.ThreadItemsListResponse:
        """``thread/items/list``."""
        return await self._typed('thread/items/list', g.ThreadItemsListParams(cursor=cursor, limit=limit, sort_direction=sort_direction, thread_id=thread_id, turn_id=turn_id), g.ThreadItemsListResponse)

    async def thread_items_read(self, *, item_ids: tuple[str, ...], thread_id: str, turn_id: str) -> g.ThreadItemsReadResponse:
        """``thread/items/read`` (experimental API)."""
        self._experimental('thread/items/read')
        return await self._typed('thread/items/read', g.ThreadItemsReadParams(item_ids=item_ids, thread_id=thread_id, turn_id=turn_id), g.ThreadItemsReadResponse)

    async def thread_inject_items(self, *, items: tuple[Any, ...], thread_id: str) -> g.ThreadInjectItemsResponse:
        """``thread/inject_items``."""
        return await self._typed('thread/inject_items', g.ThreadInjectItemsParams(items=items, thread_id=thread_id), g.ThreadInjectItemsResponse)

    async def skills_list(self, *, cwds: tuple[str, ...] | None = None, force_reload: bool | None = None) -> g.SkillsListResponse:
        """``skills/list``."""
        return await self._typed('skills/list', g.SkillsListParams(cwds=cwds, force_reload=force_reload), g.SkillsListResponse)

    async def skills_extra_roots_set(self, *, extra_roots: tuple[str, ...]) -> g.SkillsExtraRootsSetResponse:
        """``skills/extraRoots/set``."""
        return await self._typed('skills/extraRoots/set', g.SkillsExtraRootsSetParams(extra_roots=extra_roots), g.SkillsExtraRootsSetResponse)

    async def hooks_list(self, *, cwds: tuple[str, ...] | None = None) -> g.HooksListResponse:
        """``hooks/list``."""
        return await self._typed('hooks/list', g.HooksListParams(cwds=cwds), g.HooksListResponse)

    async def marketplace_add(self, *, source: str, ref_name: str | None = None, sparse_paths: tuple[str, ...] | None = None) -> g.MarketplaceAddResponse:
        """``marketplace/add``."""
        return await self._typed('marketplace/add', g.MarketplaceAddParams(ref_name=ref_name, source=source, sparse_paths=sparse_paths), g.MarketplaceAddResponse)

    async def marketplace_remove(self, *, marketplace_name: str) -> g.MarketplaceRemoveResponse:
        """``marketplace/remove``."""
        return await self._typed('marketplace/remove', g.MarketplaceRemoveParams(marketplace_name=marketplace_name), g.MarketplaceRemoveResponse)

    async def marketplace_upgrade(self, *, marketplace_name: str | None = None) -> g.MarketplaceUpgradeResponse:
        """``marketplace/upgrade``."""
        return await self._typed('marketplace/upgrade', g.MarketplaceUpgradeParams(marketplace_name=marketplace_name), g.MarketplaceUpgradeResponse)

    async def plugin_list(self, *, cwds: tuple[str, ...] | None = None, force_refetch: bool | None = None, marketplace_kinds: tuple[g.PluginListMarketplaceKind, ...] | None = None) -> g.PluginListResponse:
        """``plugin/list``."""
        return await self._typed('plugin/list', g.PluginListParams(cwds=cwds, force_refetch=force_refetch, marketplace_kinds=marketplace_kinds), g.PluginListResponse)

    async def plugin_search(self, *, search_term: str, cursor: str | None = None, cwds: tuple[str, ...] | None = None, limit: int | None = None, scope: g.PluginSearchScope | None = None) -> g.PluginSearchResponse:
        """``plugin/search`` (experimental API)."""
        self._experimental('plugin/search')
        return await self._typed('plugin/search', g.PluginSearchParams(cursor=cursor, cwds=cwds, limit=limit, scope=scope, search_term=search_term), g.PluginSearchResponse)

    async def plugin_installed(self, *, cwds: tuple[str, ...] | None = None, install_suggestion_plugin_names: tuple[str, ...] | None = None) -> g.PluginInstalledResponse:
        """``plugin/installed``."""
        return await self._typed('plugin/installed', g.PluginInstalledParams(cwds=cwds, install_suggestion_plugin_names=install_suggestion_plugin_names), g.PluginInstalledResponse)

    async def plugin_reconcile(self, *, reason: str | None = None) -> g.PluginReconcileResponse:
        """``plugin/reconcile``."""
        return await self._typed('plugin/reconcile', g.PluginReconcileParams(reason=reason), g.PluginReconcileResponse)

    async def plugin_read(self, *, plugin_name: str, marketplace_path: str | None = None, remote_marketplace_name: str | None = None) -> g.PluginReadResponse:
        """``plugin/read``."""
        return await self._typed('plugin/read', g.PluginReadParams(marketplace_path=marketplace_path, plugin_name=plugin_name, remote_marketplace_name=remote_marketplace_name), g.PluginReadResponse)

    async def plugin_skill_read(self, *, remote_marketplace_name: str, remote_plugin_id: str, skill_name: str) -> g.PluginSkillReadResponse:
        """``plugin/skill/read``."""
        return await self._typed('plugin/skill/read', g.PluginSkillReadParams(remote_marketplace_name=remote_marketplace_name, remote_plugin_id=remote_plugin_id, skill_name=skill_name), g.PluginSkillReadResponse)

    async def plugin_share_save(self, *, plugin_path: str, discoverability: g.PluginShareDiscoverability | None = None, remote_plugin_id: str | None = None, share_targets: tuple[g.PluginShareTarget, ...] | None = None) -> g.PluginShareSaveResponse:
        """``plugin/share/save``."""
        return await self._typed('plugin/share/save', g.PluginShareSaveParams(discoverability=discoverability, plugin_path=plugin_path, remote_plugin_id=remote_plugin_id, share_targets=share_targets), g.PluginShareSaveResponse)

    async def plugin_share_update_targets(self, *, discoverability: g.PluginShareUpdateDiscoverability, remote_plugin_id: str, share_targets: tuple[g.PluginShareTarget, ...]) -> g.PluginShareUpdateTargetsResponse:
        """``plugin/share/updateTargets``."""
        return await self._typed('plugin/share/updateTargets', g.PluginShareUpdateTargetsParams(discoverability=discoverability, remote_plugin_id=remote_plugin_id, share_targets=share_targets), g.PluginShareUpdateTargetsResponse)

    async def plugin_share_list(self) -> g.PluginShareListResponse:
        """``plugin/share/list``."""
        return await self._typed('plugin/share/list', g.PluginShareListParams(), g.PluginShareListResponse)

    async def plugin_share_checkout(self, *, remote_plugin_id: str) -> g.PluginShareCheckoutResponse:
        """``plugin/share/checkout``."""
        return await self._typed('plugin/share/checkout', g.PluginShareCheckoutParams(remote_plugin_id=remote_plugin_id), g.PluginShareCheckoutResponse)

    async def plugin_share_delete(self, *, remote_plugin_id: str) -> g.PluginShareDeleteResponse:
        """``plugin/share/delete``."""
        return await self._typed('plugin/share/delete', g.PluginShareDeleteParams(remote_plugin_id=remote_plugin_id), g.PluginShareDeleteResponse)

    async def app_read(self, *, app_ids: tuple[str, ...], include_tools: bool | None = None, thread_id: str | None = None) -> g.AppsReadResponse:
        """``app/read``."""
        return await self._typed('app/read', g.AppsReadParams(app_ids=app_ids, include_tools=include_tools, thread_id=thread_id), g.AppsReadResponse)

    async def app_list(self, *, cursor: str | None = None, force_refetch: bool | None = None, limit: int | None = None, thread_id: str | None = None) -> g.AppsListResponse:
        """``app/list``."""
        return await self._typed('app/list', g.AppsListParams(cursor=cursor, force_refetch=force_refetch, limit=limit, thread_id=thread_id), g.AppsListResponse)

    async def app_installed(self, *, force_refresh: bool | None = None, thread_id: str | None = None) -> g.AppsInstalledResponse:
        """``app/installed``."""
        return await self._typed('app/installed', g.AppsInstalledParams(force_refresh=force_refresh, thread_id=thread_id), g.AppsInstalledResponse)

    async def fs_read_file(self, *, path: str) -> g.FsReadFileResponse:
        """``fs/readFile``."""
        return await self._typed('fs/readFile', g.FsReadFileParams(path=path), g.FsReadFileResponse)

    async def fs_write_file(self, *, data_base64: str, path: str) -> g.FsWriteFileResponse:
        """``fs/writeFile``."""
        return await self._typed('fs/writeFile', g.FsWriteFileParams(data_base64=data_base64, path=path), g.FsWriteFileResponse)

    async def fs_create_directory(self, *, path: str, recursive: bool | None = None) -> g.FsCreateDirectoryResponse:
        """``fs/createDirectory``."""
        return await self._typed('fs/createDirectory', g.FsCreateDirectoryParams(path=path, recursive=recursive), g.FsCreateDirectoryResponse)

    async def fs_get_metadata(self, *, path: str) -> g.FsGetMetadataResponse:
        """``fs/getMetadata``."""
        return await self._typed('fs/getMetadata', g.FsGetMetadataParams(path=path), g.FsGetMetadataResponse)

    async def fs_read_directory(self, *, path: str) -> g.FsReadDirectoryResponse:
        """``fs/readDirectory``."""
        return await self._typed('fs/readDirectory', g.FsReadDirectoryParams(path=path), g.FsReadDirectoryResponse)

    async def fs_remove(self, *, path: str, force: bool | None = None, recursive: bool | None = None) -> g.FsRemoveResponse:
        """``fs/remove``."""
        return await self._typed('fs/remove', g.FsRemoveParams(force=force, path=path, recursive=recursive), g.FsRemoveResponse)

    async def fs_copy(self, *, destination_path: str, source_path: str, recursive: bool | None = None) -> g.FsCopyResponse:
        """``fs/copy``."""
        return await self._typed('fs/copy', g.FsCopyParams(destination_path=destination_path, recursive=recursive, source_path=source_path), g.FsCopyResponse)

    async def fs_watch(self, *, path: str, watch_id: str) -> g.FsWatchResponse:
        """``fs/watch``."""
        return await self._typed('fs/watch', g.FsWatchParams(path=path, watch_id=watch_id), g.FsWatchResponse)

    async def fs_unwatch(self, *, watch_id: str) -> g.FsUnwatchResponse:
        """``fs/unwatch``."""
        return await self._typed('fs/unwatch', g.FsUnwatchParams(watch_id=watch_id), g.FsUnwatchResponse)

    async def skills_config_write(self, *, enabled: bool, name: str | None = None, path: str | None = None) -> g.SkillsConfigWriteResponse:
        """``skills/config/write``."""
        return await self._typed('skills/config/write', g.SkillsConfigWriteParams(enabled=enabled, name=name, path=path), g.SkillsConfigWriteResponse)

    async def plugin_install(self, *, plugin_name: str, install_attempt_id: str | None = None, marketplace_path: str | None = None, remote_marketplace_name: str | None = None) -> g.PluginInstallResponse:
        """``plugin/install``."""
        return await self._typed('plugin/install', g.PluginInstallParams(install_attempt_id=install_attempt_id, marketplace_path=marketplace_path, plugin_name=plugin_name, remote_marketplace_name=remote_marketplace_name), g.PluginInstallResponse)

    async def plugin_uninstall(self, *, plugin_id: str) -> g.PluginUninstallResponse:
        """``plugin/uninstall``."""
        return await self._typed('plugin/uninstall', g.PluginUninstallParams(plugin_id=plugin_id), g.PluginUninstallResponse)

    async def turn_settings_update(self, *, thread_id: str, turn_id: str, approvals_reviewer: g.ApprovalsReviewer | None = None, effort: str | None = None, model: str | None = None, service_tier: str | None = None, summary: g.ReasoningSummary | None = None) -> g.TurnSettingsUpdateResponse:
        """``turn/settings/update`` (experimental API)."""
        self._experimental('turn/settings/update')
        return await self._typed('turn/settings/update', g.TurnSettingsUpdateParams(approvals_reviewer=approvals_reviewer, effort=effort, model=model, service_tier=service_tier, summary=summary, thread_id=thread_id, turn_id=turn_id), g.TurnSettingsUpdateResponse)

    async def thread_realtime_start(self, *, output_modality: g.RealtimeOutputModality, thread_id: str, backend_reasoning_status: bool | None = None, client_managed_handoffs: bool | None = None, codex_response_handoff_channel_prefixes: Mapping[str, tuple[str, ...]] | None = None, codex_response_handoff_mode: g.CodexResponseHandoffMode | None = None, codex_response_item_prefix: str | None = None, codex_responses_as_items: bool | None = None, delegation_ack_filler: bool | None = None, flush_transcript_tail_on_session_end: bool | None = None, include_startup_context: bool | None = None, initial_items: tuple[g.ThreadRealtimeInitialItem, ...] | None = None, model: str | None = None, prompt: str | None = None, realtime_end_instructions: str | None = None, realtime_session_id: str | None = None, realtime_start_instructions: str | None = None, transport: g.ThreadRealtimeStartTransport | None = None, version: g.RealtimeConversationVersion | None = None, voice: g.RealtimeVoice | None = None) -> g.ThreadRealtimeStartResponse:
        """``thread/realtime/start`` (experimental API)."""
        self._experimental('thread/realtime/start')
        return await self._typed('thread/realtime/start', g.ThreadRealtimeStartParams(backend_reasoning_status=backend_reasoning_status, client_managed_handoffs=client_managed_handoffs, codex_response_handoff_channel_prefixes=codex_response_handoff_channel_prefixes, codex_response_handoff_mode=codex_response_handoff_mode, codex_response_item_prefix=codex_response_item_prefix, codex_responses_as_items=codex_responses_as_items, delegation_ack_filler=delegation_ack_filler, flush_transcript_tail_on_session_end=flush_transcript_tail_on_session_end, include_startup_context=include_startup_context, initial_items=initial_items, model=model, output_modality=output_modality, prompt=prompt, realtime_end_instructions=realtime_end_instructions, realtime_session_id=realtime_session_id, realtime_start_instructions=realtime_start_instructions, thread_id=thread_id, transport=transport, version=version, voice=voice), g.ThreadRealtimeStartResponse)

    async def thread_realtime_append_audio(self, *, audio: g.ThreadRealtimeAudioChunk, thread_id: str) -> g.ThreadRealtimeAppendAudioResponse:
        """``thread/realtime/appendAudio`` (experimental API)."""
        self._experimental('thread/realtime/appendAudio')
        return await self._typed('thread/realtime/appendAudio', g.ThreadRealtimeAppendAudioParams(audio=audio, thread_id=thread_id), g.ThreadRealtimeAppendAudioResponse)

    async def thread_realtime_append_text(self, *, text: str, thread_id: str, role: g.ConversationTextRole | None = None) -> g.ThreadRealtimeAppendTextResponse:
        """``thread/realtime/appendText`` (experimental API)."""
        self._experimental('thread/realtime/appendText')
        return await self._typed('thread/realtime/appendText', g.ThreadRealtimeAppendTextParams(role=role, text=text, thread_id=thread_id), g.ThreadRealtimeAppendTextResponse)

    async def thread_realtime_append_speech(self, *, text: str, thread_id: str) -> g.ThreadRealtimeAppendSpeechResponse:
        """``thread/realtime/appendSpeech`` (experimental API)."""
        self._experimental('thread/realtime/appendSpeech')
        return await self._typed('thread/realtime/appendSpeech', g.ThreadRealtimeAppendSpeechParams(text=text, thread_id=thread_id), g.ThreadRealtimeAppendSpeechResponse)

    async def thread_realtime_stop(self, *, thread_id: str) -> g.ThreadRealtimeStopResponse:
        """``thread/realtime/stop`` (experimental API)."""
        self._experimental('thread/realtime/stop')
        return await self._typed('thread/realtime/stop', g.ThreadRealtimeStopParams(thread_id=thread_id), g.ThreadRealtimeStopResponse)

    async def thread_timeline_list(self, *, thread_id: str, cursor: str | None = None, limit: int | None = None) -> g.ThreadTimelineListResponse:
        """``thread/timeline/list`` (experimental API)."""
        self._experimental('thread/timeline/list')
        return await self._typed('thread/timeline/list', g.ThreadTimelineListParams(cursor=cursor, limit=limit, thread_id=thread_id), g.ThreadTimelineListResponse)

    async def thread_realtime_list_voices(self) -> g.ThreadRealtimeListVoicesResponse:
        """``thread/realtime/listVoices`` (experimental API)."""
        self._experimental('thread/realtime/listVoices')
        return await self._typed('thread/realtime/listVoices', g.ThreadRealtimeListVoicesParams(), g.ThreadRealtimeListVoicesResponse)

    async def review_start(self, *, target: g.ReviewTarget, thread_id: str, delivery: g.ReviewDelivery | None = None) -> g.ReviewStartResponse:
        """``review/start``."""
        return await self._typed('review/start', g.ReviewStartParams(delivery=delivery, target=target, thread_id=thread_id), g.ReviewStartResponse)

    async def model_list(self, *, cursor: str | None = None, include_hidden: bool | None = None, limit: int | None = None) -> g.ModelListResponse:
        """``model/list``."""
        return await self._typed('model/list', g.ModelListParams(cursor=cursor, include_hidden=include_hidden, limit=limit), g.ModelListResponse)

    async def account_gateway_oauth_read(self) -> Any:
        """``account/gatewayOAuth/read``."""
        return await self._typed('account/gatewayOAuth/read', None, dict)

    async def account_gateway_oauth_login(self) -> Any:
        """``account/gatewayOAuth/login``."""
        return await self._typed('account/gatewayOAuth/login', None, dict)

    async def account_gateway_oauth_cancel(self) -> Any:
        """``account/gatewayOAuth/cancel``."""
        return await self._typed('account/gatewayOAuth/cancel', None, dict)

    async def model_provider_capabilities_read(self) -> g.ModelProviderCapabilitiesReadResponse:
        """``modelProvider/capabilities/read``."""
        return await self._typed('modelProvider/capabilities/read', g.ModelProviderCapabilitiesReadParams(), g.ModelProviderCapabilitiesReadResponse)

    async def experimental_feature_list(self, *, cursor: str | None = None, limit: int | None = None, thread_id: str | None = None) -> g.ExperimentalFeatureListResponse:
        """``experimentalFeature/list``."""
        return await self._typed('experimentalFeature/list', g.ExperimentalFeatureListParams(cursor=cursor, limit=limit, thread_id=thread_id), g.ExperimentalFeatureListResponse)

    async def permission_profile_list(self, *, cursor: str | None = None, cwd: str | None = None, limit: int | None = None) -> g.PermissionProfileListResponse:
        """``permissionProfile/list``."""
        return await self._typed('permissionProfile/list', g.PermissionProfileListParams(cursor=cursor, cwd=cwd, limit=limit), g.PermissionProfileListResponse)

    async def experimental_feature_enablement_set(self, *, enablement: Mapping[str, bool]) -> g.ExperimentalFeatureEnablementSetResponse:
        """``experimentalFeature/enablement/set``."""
        return await self._typed('experimentalFeature/enablement/set', g.ExperimentalFeatureEnablementSetParams(enablement=enablement), g.ExperimentalFeatureEnablementSetResponse)

    async def remote_control_enable(self) -> g.RemoteControlEnableResponse:
        """``remoteControl/enable`` (experimental API)."""
        self._experimental('remoteControl/enable')
        return await self._typed('remoteControl/enable', None, g.RemoteControlEnableResponse)

    async def remote_control_disable(self) -> g.RemoteControlDisableResponse:
        """``remoteControl/disable`` (experimental API)."""
        self._experimental('remoteControl/disable')
        return await self._typed('remoteControl/disable', None, g.RemoteControlDisableResponse)

    async def remote_control_status_read(self) -> g.RemoteControlStatusReadResponse:
        """``remoteControl/status/read`` (experimental API)."""
        self._experimental('remoteControl/status/read')
        return await self._typed('remoteControl/status/read', None, g.RemoteControlStatusReadResponse)

    async def remote_control_pairing_start(self, *, manual_code: bool | None = None) -> g.RemoteControlPairingStartResponse:
        """``remoteControl/pairing/start`` (experimental API)."""
        self._experimental('remoteControl/pairing/start')
        return await self._typed('remoteControl/pairing/start', g.RemoteControlPairingStartParams(manual_code=manual_code), g.RemoteControlPairingStartResponse)

    async def remote_control_pairing_status(self, *, manual_pairing_code: str | None = None, pairing_code: str | None = None) -> g.RemoteControlPairingStatusResponse:
        """``remoteControl/pairing/status`` (experimental API)."""
        self._experimental('remoteControl/pairing/status')
        return await self._typed('remoteControl/pairing/status', g.RemoteControlPairingStatusParams(manual_pairing_code=manual_pairing_code, pairing_code=pairing_code), g.RemoteControlPairingStatusResponse)

    async def remote_control_client_list(self, *, environment_id: str, cursor: str | None = None, limit: int | None = None, order: g.RemoteControlClientsListOrder | None = None) -> g.RemoteControlClientsListResponse:
        """``remoteControl/client/list`` (experimental API)."""
        self._experimental('remoteControl/client/list')
        return await self._typed('remoteControl/client/list', g.RemoteControlClientsListParams(cursor=cursor, environment_id=environment_id, limit=limit, order=order), g.RemoteControlClientsListResponse)

    async def remote_control_client_revoke(self, *, client_id: str, environment_id: str) -> g.RemoteControlClientsRevokeResponse:
        """``remoteControl/client/revoke`` (experimental API)."""
        self._experimental('remoteControl/client/revoke')
        return await self._typed('remoteControl/client/revoke', g.RemoteControlClientsRevokeParams(client_id=client_id, environment_id=environment_id), g.RemoteControlClientsRevokeResponse)

    async def collaboration_mode_list(self) -> g.CollaborationModeListResponse:
        """``collaborationMode/list`` (experimental API)."""
        self._experimental('collaborationMode/list')
        return await self._typed('collaborationMode/list', g.CollaborationModeListParams(), g.CollaborationModeListResponse)

    async def mock_experimental_method(self, *, value: str | None = None) -> g.MockExperimentalMethodResponse:
        """``mock/experimentalMethod`` (experimental API)."""
        self._experimental('mock/experimentalMethod')
        return await self._typed('mock/experimentalMethod', g.MockExperimentalMethodParams(value=value), g.MockExperimentalMethodResponse)

    async def environment_add(self, *, environment_id: str, exec_server_url: str, auth_bearer_token: str | None = None, connect_timeout_ms: int | None = None, skills: g.EnvironmentSkillsParams | None = None, websocket_request_id: str | None = None) -> g.EnvironmentAddResponse:
        """``environment/add`` (experimental API)."""
        self._experimental('environment/add')
        return await self._typed('environment/add', g.EnvironmentAddParams(auth_bearer_token=auth_bearer_token, connect_timeout_ms=connect_timeout_ms, environment_id=environment_id, exec_server_url=exec_server_url, skills=skills, websocket_request_id=websocket_request_id), g.EnvironmentAddResponse)

    async def environment_info(self, *, environment_id: str) -> g.EnvironmentInfoResponse:
        """``environment/info`` (experimental API)."""
        self._experimental('environment/info')
        return await self._typed('environment/info', g.EnvironmentInfoParams(environment_id=environment_id), g.EnvironmentInfoResponse)

    async def environment_status(self, *, environment_id: str) -> g.EnvironmentStatusResponse:
        """``environment/status`` (experimental API)."""
        self._experimental('environment/status')
        return await self._typed('environment/status', g.EnvironmentStatusParams(environment_id=environment_id), g.EnvironmentStatusResponse)

    async def mcp_server_oauth_login(self, *, name: str, client_registration: g.McpServerOauthClientRegistration | None = None, scopes: tuple[str, ...] | None = None, thread_id: str | None = None, timeout_secs: int | None = None) -> g.McpServerOauthLoginResponse:
        """``mcpServer/oauth/login``."""
        return await self._typed('mcpServer/oauth/login', g.McpServerOauthLoginParams(client_registration=client_registration, name=name, scopes=scopes, thread_id=thread_id, timeout_secs=timeout_secs), g.McpServerOauthLoginResponse)

    async def config_mcp_server_reload(self) -> Any:
        """``config/mcpServer/reload``."""
        return await self._typed('config/mcpServer/reload', None, dict)

    async def mcp_server_status_list(self, *, cursor: str | None = None, detail: g.McpServerStatusDetail | None = None, limit: int | None = None, server_name: str | None = None, thread_id: str | None = None) -> g.ListMcpServerStatusResponse:
        """``mcpServerStatus/list``."""
        return await self._typed('mcpServerStatus/list', g.ListMcpServerStatusParams(cursor=cursor, detail=detail, limit=limit, server_name=server_name, thread_id=thread_id), g.ListMcpServerStatusResponse)

    async def mcp_server_resource_read(self, *, server: str, uri: str, connector_id: str | None = None, origin_call_id: str | None = None, target: g.McpResourceReadTarget | None = None, thread_id: str | None = None) -> g.McpResourceReadResponse:
        """``mcpServer/resource/read``."""
        return await self._typed('mcpServer/resource/read', g.McpResourceReadParams(connector_id=connector_id, origin_call_id=origin_call_id, server=server, target=target, thread_id=thread_id, uri=uri), g.McpResourceReadResponse)

    async def mcp_server_event_stream_start(self, *, arguments: Any, name: str, server: str, subscription_id: str, thread_id: str, meta: Any = None) -> g.McpServerEventStreamStartResponse:
        """``mcpServer/event/stream/start`` (experimental API)."""
        self._experimental('mcpServer/event/stream/start')
        return await self._typed('mcpServer/event/stream/start', g.McpServerEventStreamStartParams(meta=meta, arguments=arguments, name=name, server=server, subscription_id=subscription_id, thread_id=thread_id), g.McpServerEventStreamStartResponse)

    async def mcp_server_event_stream_stop(self, *, subscription_id: str) -> g.McpServerEventStreamStopResponse:
        """``mcpServer/event/stream/stop`` (experimental API)."""
        self._experimental('mcpServer/event/stream/stop')
        return await self._typed('mcpServer/event/stream/stop', g.McpServerEventStreamStopParams(subscription_id=subscription_id), g.McpServerEventStreamStopResponse)

    async def mcp_server_tool_call(self, *, server: str, thread_id: str, tool: str, meta: Any = None, arguments: Any = None) -> g.McpServerToolCallResponse:
        """``mcpServer/tool/call``."""
        return await self._typed('mcpServer/tool/call', g.McpServerToolCallParams(meta=meta, arguments=arguments, server=server, thread_id=thread_id, tool=tool), g.McpServerToolCallResponse)

    async def windows_sandbox_setup_start(self, *, mode: g.WindowsSandboxSetupMode, cwd: str | None = None) -> g.WindowsSandboxSetupStartResponse:
        """``windowsSandbox/setupStart``."""
        return await self._typed('windowsSandbox/setupStart', g.WindowsSandboxSetupStartParams(cwd=cwd, mode=mode), g.WindowsSandboxSetupStartResponse)

    async def windows_sandbox_readiness(self) -> g.WindowsSandboxReadinessResponse:
        """``windowsSandbox/readiness``."""
        return await self._typed('windowsSandbox/readiness', None, g.WindowsSandboxReadinessResponse)

    async def account_bedrock_discover(self) -> g.BedrockDiscoverResponse:
        """``account/bedrock/discover`` (experimental API)."""
        self._experimental('account/bedrock/discover')
        return await self._typed('account/bedrock/discover', g.BedrockDiscoverParams(), g.BedrockDiscoverResponse)

    async def account_bedrock_setup(self) -> g.BedrockSetupResponse:
        """``account/bedrock/setup`` (experimental API)."""
        self._experimental('account/bedrock/setup')
        return await self._typed('account/bedrock/setup', None, g.BedrockSetupResponse)

    async def account_bedrock_check_gov_cloud_requirements(self) -> g.BedrockCheckGovCloudRequirementsResponse:
        """``account/bedrock/checkGovCloudRequirements`` (experimental API)."""
        self._experimental('account/bedrock/checkGovCloudRequirements')
        return await self._typed('account/bedrock/checkGovCloudRequirements', g.BedrockCheckGovCloudRequirementsParams(), g.BedrockCheckGovCloudRequirementsResponse)

    async def account_login_cancel(self, *, login_id: str) -> g.CancelLoginAccountResponse:
        """``account/login/cancel``."""
        return await self._typed('account/login/cancel', g.CancelLoginAccountParams(login_id=login_id), g.CancelLoginAccountResponse)

    async def account_logout(self) -> g.LogoutAccountResponse:
        """``account/logout``."""
        return await self._typed('account/logout', None, g.LogoutAccountResponse)

    async def account_rate_limits_read(self) -> g.GetAccountRateLimitsResponse:
        """``account/rateLimits/read``."""
        return await self._typed('account/rateLimits/read', None, g.GetAccountRateLimitsResponse)

    async def account_rate_limit_reset_credit_consume(self, *, idempotency_key: str, credit_id: str | None = None) -> g.ConsumeAccountRateLimitResetCreditResponse:
        """``account/rateLimitResetCredit/consume``."""
        return await self._typed('account/rateLimitResetCredit/consume', g.ConsumeAccountRateLimitResetCreditParams(credit_id=credit_id, idempotency_key=idempotency_key), g.ConsumeAccountRateLimitResetCreditResponse)

    async def account_usage_read(self) -> Any:
        """``account/usage/read``."""
        return await self._typed('account/usage/read', None, dict)

    async def account_workspace_messages_read(self) -> Any:
        """``account/workspaceMessages/read``."""
        return await self._typed('account/workspaceMessages/read', None, dict)

    async def account_send_add_credits_nudge_email(self, *, credit_type: g.AddCreditsNudgeCreditType) -> g.SendAddCreditsNudgeEmailResponse:
        """``account/sendAddCreditsNudgeEmail``."""
        return await self._typed('account/sendAddCreditsNudgeEmail', g.SendAddCreditsNudgeEmailParams(credit_type=credit_type), g.SendAddCreditsNudgeEmailResponse)

    async def feedback_upload(self, *, classification: str, extra_log_files: tuple[str, ...] | None = None, include_logs: bool | None = None, reason: str | None = None, tags: Mapping[str, str] | None = None, thread_id: str | None = None) -> g.FeedbackUploadResponse:
        """``feedback/upload``."""
        return await self._typed('feedback/upload', g.FeedbackUploadParams(classification=classification, extra_log_files=extra_log_files, include_logs=include_logs, reason=reason, tags=tags, thread_id=thread_id), g.FeedbackUploadResponse)

    async def command_exec(self, *, command: tuple[str, ...], cwd: str | None = None, disable_output_cap: bool | None = None, disable_timeout: bool | None = None, env: Mapping[str, str | None] | None = None, output_bytes_cap: int | None = None, permission_profile: str | None = None, process_id: str | None = None, sandbox_policy: g.SandboxPolicy | None = None, size: g.CommandExecTerminalSize | None = None, stream_stdin: bool | None = None, stream_stdout_stderr: bool | None = None, timeout_ms: int | None = None, tty: bool | None = None) -> g.CommandExecResponse:
        """``command/exec``."""
        return await self._typed('command/exec', g.CommandExecParams(command=command, cwd=cwd, disable_output_cap=disable_output_cap, disable_timeout=disable_timeout, env=env, output_bytes_cap=output_bytes_cap, permission_profile=permission_profile, process_id=process_id, sandbox_policy=sandbox_policy, size=size, stream_stdin=stream_stdin, stream_stdout_stderr=stream_stdout_stderr, timeout_ms=timeout_ms, tty=tty), g.CommandExecResponse)

    async def command_exec_write(self, *, process_id: str, close_stdin: bool | None = None, delta_base64: str | None = None) -> g.CommandExecWriteResponse:
        """``command/exec/write``."""
        return await self._typed('command/exec/write', g.CommandExecWriteParams(close_stdin=close_stdin, delta_base64=delta_base64, process_id=process_id), g.CommandExecWriteResponse)

    async def command_exec_terminate(self, *, process_id: str) -> g.CommandExecTerminateResponse:
        """``command/exec/terminate``."""
        return await self._typed('command/exec/terminate', g.CommandExecTerminateParams(process_id=process_id), g.CommandExecTerminateResponse)

    async def command_exec_resize(self, *, process_id: str, size: g.CommandExecTerminalSize) -> g.CommandExecResizeResponse:
        """``command/exec/resize``."""
        return await self._typed('command/exec/resize', g.CommandExecResizeParams(process_id=process_id, size=size), g.CommandExecResizeResponse)

    async def process_spawn(self, *, command: tuple[str, ...], cwd: str, process_handle: str, env: Mapping[str, str | None] | None = None, output_bytes_cap: int | None = None, size: g.ProcessTerminalSize | None = None, stream_stdin: bool | None = None, stream_stdout_stderr: bool | None = None, timeout_ms: int | None = None, tty: bool | None = None) -> g.ProcessSpawnResponse:
        """``process/spawn`` (experimental API)."""
        self._experimental('process/spawn')
        return await self._typed('process/spawn', g.ProcessSpawnParams(command=command, cwd=cwd, env=env, output_bytes_cap=output_bytes_cap, process_handle=process_handle, size=size, stream_stdin=stream_stdin, stream_stdout_stderr=stream_stdout_stderr, timeout_ms=timeout_ms, tty=tty), g.ProcessSpawnResponse)

    async def process_write_stdin(self, *, process_handle: str, close_stdin: bool | None = None, delta_base64: str | None = None) -> g.ProcessWriteStdinResponse:
        """``process/writeStdin`` (experimental API)."""
        self._experimental('process/writeStdin')
        return await self._typed('process/writeStdin', g.ProcessWriteStdinParams(close_stdin=close_stdin, delta_base64=delta_base64, process_handle=process_handle), g.ProcessWriteStdinResponse)

    async def process_kill(self, *, process_handle: str) -> g.ProcessKillResponse:
        """``process/kill`` (experimental API)."""
        self._experimental('process/kill')
        return await self._typed('process/kill', g.ProcessKillParams(process_handle=process_handle), g.ProcessKillResponse)

    async def process_resize_pty(self, *, process_handle: str, size: g.ProcessTerminalSize) -> g.ProcessResizePtyResponse:
        """``process/resizePty`` (experimental API)."""
        self._experimental('process/resizePty')
        return await self._typed('process/resizePty', g.ProcessResizePtyParams(process_handle=process_handle, size=size), g.ProcessResizePtyResponse)

    async def config_read(self, *, cwd: str | None = None, include_layers: bool | None = None) -> g.ConfigReadResponse:
        """``config/read``."""
        return await self._typed('config/read', g.ConfigReadParams(cwd=cwd, include_layers=include_layers), g.ConfigReadResponse)

    async def external_agent_config_detect(self, *, cwds: tuple[str, ...] | None = None, include_home: bool | None = None, max_session_age_days: int | None = None, max_sessions: int | None = None, migration_source: str | None = None, source: str | None = None) -> g.ExternalAgentConfigDetectResponse:
        """``externalAgentConfig/detect``."""
        return await self._typed('externalAgentConfig/detect', g.ExternalAgentConfigDetectParams(cwds=cwds, include_home=include_home, max_session_age_days=max_session_age_days, max_sessions=max_sessions, migration_source=migration_source, source=source), g.ExternalAgentConfigDetectResponse)

    async def external_agent_config_import(self, *, migration_items: tuple[g.ExternalAgentConfigMigrationItem, ...], migration_source: str | None = None, provider_id: str | None = None, source: str | None = None) -> g.ExternalAgentConfigImportResponse:
        """``externalAgentConfig/import``."""
        return await self._typed('externalAgentConfig/import', g.ExternalAgentConfigImportParams(migration_items=migration_items, migration_source=migration_source, provider_id=provider_id, source=source), g.ExternalAgentConfigImportResponse)

    async def external_agent_config_import_record_history(self, *, item_type_results: tuple[g.ExternalAgentConfigImportHistoryRecordTypeResultParams, ...], provider_id: str) -> g.ExternalAgentConfigImportHistoryRecordResponse:
        """``externalAgentConfig/import/recordHistory``."""
        return await self._typed('externalAgentConfig/import/recordHistory', g.ExternalAgentConfigImportHistoryRecordParams(item_type_results=item_type_results, provider_id=provider_id), g.ExternalAgentConfigImportHistoryRecordResponse)

    async def external_agent_config_import_read_histories(self) -> Any:
        """``externalAgentConfig/import/readHistories``."""
        return await self._typed('externalAgentConfig/import/readHistories', None, dict)

    async def config_value_write(self, *, key_path: str, merge_strategy: g.MergeStrategy, value: Any, expected_version: str | None = None, file_path: str | None = None) -> Any:
        """``config/value/write``."""
        return await self._typed('config/value/write', g.ConfigValueWriteParams(expected_version=expected_version, file_path=file_path, key_path=key_path, merge_strategy=merge_strategy, value=value), dict)

    async def config_batch_write(self, *, edits: tuple[g.ConfigEdit, ...], expected_version: str | None = None, file_path: str | None = None, reload_user_config: bool | None = None) -> Any:
        """``config/batchWrite``."""
        return await self._typed('config/batchWrite', g.ConfigBatchWriteParams(edits=edits, expected_version=expected_version, file_path=file_path, reload_user_config=reload_user_config), dict)

    async def config_requirements_read(self) -> g.ConfigRequirementsReadResponse:
        """``configRequirements/read``."""
        return await self._typed('configRequirements/read', None, g.ConfigRequirementsReadResponse)

    async def account_read(self, *, refresh_token: bool | None = None) -> g.GetAccountResponse:
        """``account/read``."""
        return await self._typed('account/read', g.GetAccountParams(refresh_token=refresh_token), g.GetAccountResponse)

    async def fuzzy_file_search(self, *, query: str, roots: tuple[str, ...], cancellation_token: str | None = None) -> g.FuzzyFileSearchResponse:
        """``fuzzyFileSearch``."""
        return await self._typed('fuzzyFileSearch', g.FuzzyFileSearchParams(cancellation_token=cancellation_token, query=query, roots=roots), g.FuzzyFileSearchResponse)

    async def fuzzy_file_search_session_start(self, *, roots: tuple[str, ...], session_id: str) -> g.FuzzyFileSearchSessionStartResponse:
        """``fuzzyFileSearch/sessionStart`` (experimental API)."""
        self._experimental('fuzzyFileSearch/sessionStart')
        return await self._typed('fuzzyFileSearch/sessionStart', g.FuzzyFileSearchSessionStartParams(roots=roots, session_id=session_id), g.FuzzyFileSearchSessionStartResponse)

    async def fuzzy_file_search_session_update(self, *, query: str, session_id: str) -> g.FuzzyFileSearchSessionUpdateResponse:
        """``fuzzyFileSearch/sessionUpdate`` (experimental API)."""
        self._experimental('fuzzyFileSearch/sessionUpdate')
        return await self._typed('fuzzyFileSearch/sessionUpdate', g.FuzzyFileSearchSessionUpdateParams(query=query, session_id=session_id), g.FuzzyFileSearchSessionUpdateResponse)

    async def fuzzy_file_search_session_stop(self, *, session_id: str) -> g.FuzzyFileSearchSessionStopResponse:
        """``fuzzyFileSearch/sessionStop`` (experimental API)."""
        self._experimental('fuzzyFileSearch/sessionStop')
        return await self._typed('fuzzyFileSearch/sessionStop', g.FuzzyFileSearchSessionStopParams(session_id=session_id), g.FuzzyFileSearchSessionStopResponse)
